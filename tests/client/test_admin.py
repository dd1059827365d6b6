"""Server commands of simdask.Client (INFO, CLUSTER INFO, CONFIG, SAVE, FLUSHDB) on every node or on one."""

from __future__ import annotations

import numpy as np
import pytest

import simdask


def test_db_addresses_name_every_node(client, store):
    nodes = client.db_addresses()
    assert len(nodes) == (3 if store.kind == "cluster" else 1)
    if store.kind == "unix":
        assert nodes == [store.address]
    assert set(client.db_info()) == set(nodes)


def test_db_info_sections_of_one_node(client):
    node = client.db_addresses()[0]
    info = client.db_info(node)
    assert list(info) == [node]
    assert info[node]["Server"]["tcp_port"] == (node.rsplit(":", 1)[1] if not node.startswith("unix") else "0")
    assert int(info[node]["Persistence"]["rdb_last_save_time"]) > 0
    assert set(client.db_info(node, "memory")[node]) == {"Memory"}


def test_node_named_by_host_name_or_tcp_url(client, store):
    if store.kind == "unix":
        pytest.skip("a Unix socket has no host name")
    node = client.db_addresses()[0]
    port = node.rsplit(":", 1)[1]
    assert list(client.db_info(f"localhost:{port}", "server")) == [node]
    assert list(client.db_info(f"tcp://{node}", "server")) == [node]


def test_unknown_node_names_the_nodes(client):
    with pytest.raises(ValueError, match="is not a node of the store.*its nodes"):
        client.db_info("127.0.0.1:1")
    with pytest.raises(ValueError, match="invalid store address"):
        client.config_get("timeout", "not-an-address")


def test_config_set_and_get_on_every_node(client):
    client.config_set("lua-time-limit", "6000")
    for params in client.config_get("lua-time-limit").values():
        assert params == {"lua-time-limit": "6000"}
    node = client.db_addresses()[-1]
    client.config_set("lua-time-limit", "5000", node)
    assert client.config_get("lua-time-limit", node) == {node: {"lua-time-limit": "5000"}}
    assert client.config_get("no-such-parameter", node) == {node: {}}
    with pytest.raises(simdask.ResponseError, match="no-such-parameter"):
        client.config_set("no-such-parameter", "1", node)
    client.config_set("lua-time-limit", "5000")  # the servers' default again: the stores are shared


def test_save_updates_the_last_save_time(client):
    before = {n: int(i["Persistence"]["rdb_last_save_time"]) for n, i in client.db_info(section="persistence").items()}
    client.save()
    after = client.db_info(section="persistence")
    for node, when in before.items():
        assert int(after[node]["Persistence"]["rdb_last_save_time"]) >= when
        assert after[node]["Persistence"]["rdb_last_bgsave_status"] == "ok"


def test_flush_db_of_one_shard_or_all(client, store):
    for i in range(20):
        client.put_tensor(f"t{i}", np.ones(2))
    nodes = client.db_addresses()
    client.flush_db(nodes[0])
    left = client.keys()
    assert (0 < len(left) < 20) if store.kind == "cluster" else left == []
    client.flush_db()
    assert client.keys() == []


def test_cluster_info_only_on_a_cluster(client, store):
    if store.kind != "cluster":
        with pytest.raises(ValueError, match="not a cluster"):
            client.cluster_info()
        return
    info = client.cluster_info()
    assert set(info) == set(client.db_addresses())
    assert all(fields["cluster_state"] == "ok" and fields["cluster_known_nodes"] == "3" for fields in info.values())
