"""Ensemble key prefixes as SmartSim sets them: SSKEYOUT, SSKEYIN, set_data_source, the use_*_prefix switches."""

from __future__ import annotations

import numpy as np
import pytest
import smartredis
from smartredis import Dataset
from smartredis.error import RedisRuntimeError


def client_with(monkeypatch, name: str, **variables: str) -> smartredis.Client:
    """A client made with exactly these SSKEYIN/SSKEYOUT/SIMDASK_* values in the environment."""
    for variable in ("SSKEYIN", "SSKEYOUT", "SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    return smartredis.Client(None, logger_name=name)


def test_smartredis_key_layout(sr_environ, monkeypatch, peek):
    client = client_with(monkeypatch, "member", SSKEYOUT="sim_0", SSKEYIN="sim_0")
    client.put_tensor("u", np.ones(2))
    ds = Dataset("state")
    ds.add_tensor("t", np.zeros(3))
    client.put_dataset(ds)
    client.append_to_list("steps", ds)
    keys = set(peek.keys())
    assert {"sim_0.u", "sim_0.{state}.meta", "sim_0.{state}.t", "sim_0.steps"} <= keys
    assert peek.session.transport.execute("sim_0.steps", "LRANGE", "sim_0.steps", 0, -1) == [b"sim_0.{state}"]
    assert client.tensor_exists("u") and client.key_exists("sim_0.u") and not client.key_exists("u")
    assert [d.get_name() for d in client.get_datasets_from_list("steps")] == ["state"]


def test_consumer_reads_each_member_with_set_data_source(sr_environ, monkeypatch):
    for member in ("sim_0", "sim_1"):
        client_with(monkeypatch, member, SSKEYOUT=member).put_tensor("u", np.full(2, int(member[-1])))
    consumer = client_with(monkeypatch, "consumer", SSKEYIN="sim_0,sim_1")
    assert consumer.get_tensor("u").tolist() == [0, 0]  # the first of SSKEYIN
    consumer.set_data_source("sim_1")
    assert consumer.get_tensor("u").tolist() == [1, 1]
    with pytest.raises(RedisRuntimeError, match="data source other could not be found"):
        consumer.set_data_source("other")
    consumer.delete_tensor("u")  # deletes at the read prefix, as SmartRedis does
    assert not consumer.tensor_exists("u")
    consumer.set_data_source("sim_0")
    assert consumer.tensor_exists("u")


def test_without_sskeyin_reads_are_not_prefixed(sr_environ, monkeypatch):
    driver = client_with(monkeypatch, "driver")
    driver.put_tensor("params", np.arange(3))
    member = client_with(monkeypatch, "member", SSKEYOUT="sim_3")
    np.testing.assert_array_equal(member.get_tensor("params"), np.arange(3))
    member.put_tensor("u", np.ones(1))
    assert driver.key_exists("sim_3.u") and not member.tensor_exists("u")
    with pytest.raises(RedisRuntimeError, match="SSKEYIN is not set"):
        member.set_data_source("sim_3")


def test_prefix_switches(sr_environ, monkeypatch, peek):
    client = client_with(monkeypatch, "member", SSKEYOUT="p", SSKEYIN="p")
    client.use_tensor_ensemble_prefix(False)
    client.use_dataset_ensemble_prefix(False)
    client.use_list_ensemble_prefix(False)
    client.put_tensor("bare", np.ones(1))
    ds = Dataset("d")
    ds.add_meta_string("s", "x")
    client.put_dataset(ds)
    client.append_to_list("l", ds)
    assert {"bare", "{d}.meta", "l"} <= set(peek.keys())
    client.use_tensor_ensemble_prefix(True)
    client.put_tensor("prefixed", np.ones(1))
    assert peek.key_exists("p.prefixed")
    with pytest.raises(TypeError):
        client.use_tensor_ensemble_prefix(1)


def test_models_are_prefixed_only_when_asked(sr_environ, monkeypatch, peek):
    client = client_with(monkeypatch, "member", SSKEYOUT="p", SSKEYIN="p")
    client.set_script("plain", "def f(x):\n    return x\n")
    client.use_model_ensemble_prefix(True)
    client.set_script("scoped", "def f(x):\n    return x\n")
    assert peek.model_exists("plain") and peek.model_exists("p.scoped") and not peek.model_exists("scoped")
    assert client.model_exists("scoped") and client.get_script("scoped").startswith("def f")


def test_simdask_prefix_variables_apply_when_smartredis_ones_are_unset(sr_environ, monkeypatch, peek):
    client = client_with(monkeypatch, "member", SIMDASK_KEY_PREFIX="sd", SIMDASK_KEY_PREFIXES_IN="sd")
    client.put_tensor("u", np.ones(1))
    assert peek.key_exists("sd.u") and client.get_tensor("u").tolist() == [1.0]
    winner = client_with(monkeypatch, "member", SSKEYOUT="sr", SIMDASK_KEY_PREFIX="sd")
    winner.put_tensor("u", np.ones(1))
    assert peek.key_exists("sr.u")


def test_suffixed_prefixes_for_a_second_store(sr_environ, monkeypatch, peek):
    monkeypatch.setenv("SSDB_second", sr_environ.address)
    monkeypatch.setenv("SSKEYOUT_second", "two")
    monkeypatch.setenv("SSKEYIN_second", "two")
    monkeypatch.setenv("SSKEYOUT", "one")
    options = smartredis.ConfigOptions.create_from_environment("second")
    client = smartredis.Client(options, logger_name="second")
    client.put_tensor("u", np.ones(1))
    assert peek.key_exists("two.u") and not peek.key_exists("one.u")
