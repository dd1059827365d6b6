"""The C client's calls SmartRedis's APIs need (c_keys.c): copy/rename of datasets and lists, list ranges,
which names get the key prefixes, fetching models and scripts, poll_key/poll_model, server commands of a node."""

from __future__ import annotations

import numpy as np
import pytest
from simdask_tests_native import native_env, run_program, store_keys

import simdask


@pytest.fixture(params=["standalone", "unix", "cluster"])
def any_store(request):
    """Each store kind in turn, emptied first."""
    store = request.getfixturevalue(
        {"standalone": "c_store", "unix": "c_unix_store", "cluster": "c_cluster_store"}[request.param]
    )
    with simdask.Client(store.address) as client:
        client.flush()
    return store


def _prog(native_c):
    return native_c.c_tests.parent / "c_keys"


@pytest.mark.parametrize("case", ["datasets", "lists", "models"])
def test_core_calls(native_c, any_store, case):
    run_program([_prog(native_c), case], native_env(any_store.address))


def test_copy_and_rename_match_python(native_c, any_store):
    """What C copied and renamed reads in Python as the original (tensors, metadata, list entries)."""
    run_program([_prog(native_c), "datasets"], native_env(any_store.address))
    run_program([_prog(native_c), "lists"], native_env(any_store.address))
    with simdask.Client(any_store.address) as client:
        d3 = client.get_dataset("d3")
        np.testing.assert_array_equal(d3.get_tensor("v"), [10.0, 11.0, 12.0])
        assert d3.get_meta_strings("tag") == ["d1"]
        assert [d.name for d in client.get_datasets_from_list("L3")] == ["e0", "e1", "e2", "e3"]


def test_prefix_switches(native_c, any_store):
    """Each kind's prefix switched on its own, and the keys it leaves (SmartRedis's layout)."""
    address = any_store.address
    with simdask.Client(address) as client:
        client.put_tensor("r.rt", np.zeros(1))
    run_program(
        [_prog(native_c), "prefixes"], native_env(address, SIMDASK_KEY_PREFIX="w", SIMDASK_KEY_PREFIXES_IN="w,r")
    )
    keys = set(store_keys(address, "*"))
    assert {"w.t", "t_bare", "w.{pd}.meta", "{pd}.meta", "w.pl", "pl", "simdask:script:{w.ps}"} <= keys
    with simdask.Client(address) as client:
        r = client.redis()
        assert r.lrange("w.pl", 0, -1) == [b"w.{pd}"] and r.lrange("pl", 0, -1) == [b"{pd}"]


def test_server_commands(native_c, any_store):
    """INFO, CLUSTER INFO, CONFIG GET/SET, SAVE, FLUSHDB on nodes named as listed or by a resolving host name."""
    first = any_store.address.split(",")[0]
    named = first if first.startswith("unix://") else "localhost:" + first.rsplit(":", 1)[1]
    out = run_program([_prog(native_c), "admin", named], native_env(any_store.address)).stdout
    listed = next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("ADDRESSES "))
    assert len(listed.split(",")) == len(any_store.address.split(","))
