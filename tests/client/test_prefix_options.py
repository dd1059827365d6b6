"""Key prefixes given to simdask.Client directly (what the SmartRedis layer passes), and deletes at the read prefix."""

from __future__ import annotations

import numpy as np
import pytest

import simdask
from simdask import Dataset


def test_prefixes_given_win_over_the_environment(store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "env")
    monkeypatch.setenv("SIMDASK_KEY_PREFIXES_IN", "env")
    with simdask.Client(store.address, key_prefix="w", key_prefixes_in=["a", "b"]) as client:
        client.put_tensor("u", np.ones(1))
        assert client.key_exists("w.u") and client.data_source == "a"
        assert client.tensor_key("u") == "a.u"
        client.set_data_source("b")
        with pytest.raises(ValueError, match="data source 'env'"):
            client.set_data_source("env")
    with simdask.Client(store.address, key_prefix="w") as client:  # the incoming prefixes still from the environment
        assert client.data_source == "env"


def test_data_source_empty_reads_plain_names(client, store):
    client.put_tensor("shared", np.arange(2))
    with simdask.Client(store.address, key_prefix="m", key_prefixes_in=(), data_source="") as member:
        np.testing.assert_array_equal(member.get_tensor("shared"), np.arange(2))
        member.put_tensor("own", np.ones(1))
        assert client.key_exists("m.own") and not member.tensor_exists("own")
    with pytest.raises(ValueError, match="data source 'x'"):
        simdask.Client(store.address, key_prefix="m", data_source="x")


def test_deletes_from_the_source(client, store):
    with simdask.Client(store.address, key_prefix="w", key_prefixes_in=["r"]) as mixed:
        for prefix in ("w", "r"):
            ds = Dataset("d")
            ds.add_tensor("t", np.ones(1))
            with simdask.Client(store.address, key_prefix=prefix) as writer:
                writer.put_tensor("u", np.ones(1))
                writer.put_dataset(ds)
                writer.append_to_list("l", ds)
        mixed.delete_tensor("u", from_source=True)
        mixed.delete_dataset("d", from_source=True)
        mixed.delete_list("l", from_source=True)
        assert sorted(client.keys()) == ["w.l", "w.u", "w.{d}.meta", "w.{d}.t"]
        mixed.delete_tensor("u")
        mixed.delete_dataset("d")
        mixed.delete_list("l")
    assert client.keys() == []
