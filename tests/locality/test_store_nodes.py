"""Stores know their node: each server says it (HELLO's availability zone, a shard's announced host name)."""

from __future__ import annotations

import pytest

import simdask
from simdask.locality import node_name, store_nodes


@pytest.mark.parametrize("kind", ["standalone", "unix"])
def test_a_store_says_its_node_to_any_client(kind):
    with simdask.Store(kind, node="n7") as store, simdask.Client(store.address) as client:
        assert store_nodes(store.address) == {store.address: "n7"}
        client.flush()  # no key holds it: FLUSHALL does not lose it
        assert store_nodes(client) == {store.address: "n7"}


def test_a_store_is_on_this_node_by_default(standalone_store):
    assert store_nodes(standalone_store.address) == {standalone_store.address: node_name()}


def test_cluster_shards_spread_over_nodes():
    with simdask.Store("cluster", shards=4, nodes=["a", "b"]) as store, simdask.Client(store.address) as client:
        expected = {str(s.address): node for s, node in zip(store.servers, ["a", "b", "a", "b"])}
        assert store_nodes(client) == expected
        shards = client.session.transport.execute(None, "CLUSTER", "SHARDS")  # what any cluster client sees
        assert sorted(_field(_field(s, b"nodes")[0], b"hostname") for s in shards) == [b"a", b"a", b"b", b"b"]
        # any one shard's address is enough to learn the whole cluster's nodes
        assert store_nodes(str(store.servers[3].address)) == expected
        assert simdask.Store.from_run_dir(store.run_dir).node_names == ["a", "b", "a", "b"]


def test_more_nodes_than_three_make_more_shards():
    with simdask.Store("cluster", nodes=["n0", "n1", "n2", "n3"]) as store:
        assert store.shards == 4
        assert sorted(store_nodes(store.address).values()) == ["n0", "n1", "n2", "n3"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": "standalone", "nodes": ["a", "b"]},
        {"kind": "cluster", "nodes": ["a"], "node": "b"},
        {"kind": "cluster", "nodes": ["a", "b", "c", "d"], "shards": 3},
        {"kind": "standalone", "node": "bad_name"},
        {"kind": "standalone", "node": "two words"},
    ],
)
def test_bad_node_settings_are_refused(kwargs):
    kind = kwargs.pop("kind")
    with pytest.raises(ValueError):
        simdask.Store(kind, **kwargs)


def _field(entry: list, name: bytes):
    return entry[entry.index(name) + 1]
