"""Server calls through ``smartredis.Client``: node info, cluster info, CONFIG, SAVE, FLUSHDB, AI.INFO's answer."""

from __future__ import annotations

import numpy as np
import pytest
from smartredis.error import RedisReplyError, RedisRuntimeError


@pytest.fixture
def nodes(sr_client):
    return sr_client.simdask_client.db_addresses()


def test_db_node_info_per_address(sr_client, nodes):
    info = sr_client.get_db_node_info(nodes)
    assert len(info) == len(nodes)
    assert all(int(node["Persistence"]["rdb_last_save_time"]) > 0 for node in info)
    assert "redis_version" in info[0]["Server"] or "valkey_version" in info[0]["Server"]
    with pytest.raises(RedisRuntimeError, match="not a node of the store"):
        sr_client.get_db_node_info(["127.0.0.1:1"])


def test_cluster_info(sr_client, nodes, store):
    if store.kind != "cluster":
        with pytest.raises(RedisReplyError, match="not a cluster"):
            sr_client.get_db_cluster_info(nodes)
        return
    info = sr_client.get_db_cluster_info(nodes)
    assert [node["cluster_state"] for node in info] == ["ok"] * 3


def test_config_get_set(sr_client, nodes):
    node = nodes[0]
    sr_client.config_set("lua-time-limit", "6000", node)
    assert sr_client.config_get("lua-time-limit", node) == {"lua-time-limit": "6000"}
    sr_client.config_set("lua-time-limit", "5000", node)
    assert sr_client.config_get("no-such-parameter", node) == {}
    with pytest.raises(RedisRuntimeError, match="no-such-parameter"):
        sr_client.config_set("no-such-parameter", "1", node)


def test_save_and_flush_db(sr_client, nodes, store):
    before = [int(i["Persistence"]["rdb_last_save_time"]) for i in sr_client.get_db_node_info(nodes)]
    sr_client.save(nodes)
    after = [int(i["Persistence"]["rdb_last_save_time"]) for i in sr_client.get_db_node_info(nodes)]
    assert all(a >= b for a, b in zip(after, before))
    sr_client.put_tensor("kept_until_flush", np.ones(1))
    sr_client.flush_db(nodes)
    assert not sr_client.tensor_exists("kept_until_flush")


def test_ai_info_describes_what_is_stored(sr_client, nodes):
    sr_client.set_script("s", "def f(x):\n    return x\n", "GPU:1")
    (info,) = sr_client.get_ai_info(nodes[:1], "s")
    assert info == {"key": "s", "type": "SCRIPT", "backend": "TORCH"}
    with pytest.raises(RedisRuntimeError, match="no model or script 'missing'"):
        sr_client.get_ai_info(nodes[:1], "missing")
    with pytest.raises(RedisRuntimeError, match="not a node"):
        sr_client.get_ai_info(["no_host:6379"], "s")
