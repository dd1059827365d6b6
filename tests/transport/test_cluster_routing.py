"""Cluster routing: slots, hash tags, MOVED and ASK redirections, on a real cluster."""

from __future__ import annotations

import numpy as np
import pytest
import redis

import simdask
from simdask.transport import Address, Connection, key_slot


@pytest.mark.parametrize("key", ["foo", "{user1000}.following", "a{}b", "123456789", "simdask:chunk:{x{y}:0"])
def test_key_slot_matches_the_server(cluster_store, key):
    r = simdask.Client(cluster_store.address).redis()
    assert key_slot(key) == r.cluster_keyslot(key)


def test_stale_slot_map_follows_moved(cluster_store):
    client = simdask.Client(cluster_store.address)
    client.flush()
    transport = client.session.transport
    wrong = transport.nodes()
    transport._slots = [wrong[(wrong.index(n) + 1) % len(wrong)] for n in transport._slots]  # every slot points wrong
    items = {f"k{i}": np.full(3, i) for i in range(30)}
    client.put_tensors(items)
    assert [int(a[0]) for a in client.get_tensors(list(items))] == list(range(30))
    assert transport.node_for("k1") == Address("127.0.0.1", client.redis().get_node_from_key("k1").port)


def test_ask_redirection_during_slot_migration():
    with simdask.Store("cluster", password="") as store:  # no password: redis-py and MIGRATE without AUTH
        client = simdask.Client(store.address)
        key = "migrating"
        slot = key_slot(key)
        source = client.session.transport.node_for(key)
        target = next(n for n in client.session.transport.nodes() if n != source)
        src, dst = redis.Redis(source.host, source.port), redis.Redis(target.host, target.port)
        src_id, dst_id = src.cluster("MYID").decode(), dst.cluster("MYID").decode()
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        # The key is not on the source: the source answers ASK, the client follows to the target.
        client.put_tensor(key, np.arange(5))
        probe = Connection(target)
        assert probe.call("ASKING") == "OK" and probe.call("EXISTS", key) == 1  # it landed on the target
        probe.close()
        np.testing.assert_array_equal(client.get_tensor(key), np.arange(5))
        assert client.session.transport.node_for(key) == source  # ASK does not change the slot map
