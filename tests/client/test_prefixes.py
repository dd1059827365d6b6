"""Ensemble key prefixes: SIMDASK_KEY_PREFIX / SIMDASK_KEY_PREFIXES_IN, as SmartRedis's SSKEYOUT / SSKEYIN."""

from __future__ import annotations

import numpy as np
import pytest

import simdask
from simdask import Dataset


def make_client(store, monkeypatch, put: str = "", incoming: str = "") -> simdask.Client:
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", put)
    monkeypatch.setenv("SIMDASK_KEY_PREFIXES_IN", incoming)
    client = simdask.Client(store.address)
    monkeypatch.delenv("SIMDASK_KEY_PREFIX")
    monkeypatch.delenv("SIMDASK_KEY_PREFIXES_IN")
    return client


def test_members_write_apart_and_a_consumer_reads_each(client, store, monkeypatch):
    member0 = make_client(store, monkeypatch, put="sim_0")
    member1 = make_client(store, monkeypatch, put="sim_1")
    member0.put_tensor("u", np.zeros(3))
    member1.put_tensor("u", np.ones(3))
    assert sorted(client.keys()) == ["sim_0.u", "sim_1.u"]
    np.testing.assert_array_equal(member0.get_tensor("u"), np.zeros(3))  # a member reads back its own

    analysis = make_client(store, monkeypatch, put="analysis", incoming="sim_0,sim_1")
    np.testing.assert_array_equal(analysis.get_tensor("u"), np.zeros(3))  # first incoming prefix
    analysis.set_data_source("sim_1")
    np.testing.assert_array_equal(analysis.get_tensor("u"), np.ones(3))
    assert analysis.tensor_exists("u") and analysis.poll_tensor("u", 1, 1)
    analysis.put_tensor("mean", np.full(3, 0.5))
    assert "analysis.mean" in client.keys()
    analysis.set_data_source("analysis")
    np.testing.assert_array_equal(analysis.get_tensor("mean"), np.full(3, 0.5))
    with pytest.raises(ValueError, match="data source 'sim_9'"):
        analysis.set_data_source("sim_9")


def test_datasets_and_lists_are_prefixed(client, store, monkeypatch):
    member = make_client(store, monkeypatch, put="m0")
    ds = Dataset("d")
    ds.add_tensor("t", np.ones(2))
    member.put_dataset(ds)
    member.append_to_list("l", ds)
    assert sorted(client.keys()) == ["m0.l", "m0.{d}.meta", "m0.{d}.t"]
    assert client.get_list_length("m0.l") == 1 and client.key_exists("m0.l")
    consumer = make_client(store, monkeypatch, incoming="m0")
    assert consumer.dataset_exists("d")
    assert [d.name for d in consumer.get_datasets_from_list("l")] == ["d"]


def test_prefix_switches(client, store, monkeypatch):
    member = make_client(store, monkeypatch, put="m0")
    member.use_tensor_ensemble_prefix(False)
    member.put_tensor("raw", np.ones(1))
    member.use_dataset_ensemble_prefix(False)
    ds = Dataset("d")
    ds.add_meta_string("k", "v")
    member.put_dataset(ds)
    member.use_list_ensemble_prefix(False)
    member.append_to_list("l", ds)
    assert sorted(client.keys()) == ["l", "raw", "{d}.meta"]


def test_copy_and_rename_read_from_source_and_write_under_own_prefix(client, store, monkeypatch):
    producer = make_client(store, monkeypatch, put="p")
    producer.put_tensor("u", np.arange(3))
    consumer = make_client(store, monkeypatch, put="c", incoming="p")
    consumer.copy_tensor("u", "u_copy")
    assert sorted(client.keys()) == ["c.u_copy", "p.u"]


def test_prefixes_with_braces_are_refused(store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "a{b}")
    with pytest.raises(ValueError, match="braces"):
        simdask.Client(store.address)
