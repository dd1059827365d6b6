"""ConfigOptions, both Client constructor forms, and the environment SmartSim sets (SSDB, SR_*, suffixes)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import smartredis
from smartredis import Client, ConfigOptions
from smartredis.error import RedisConnectionError, RedisKeyError, RedisRuntimeError
from sr_py_helpers import clear_environment

import simdask


def test_options_from_the_environment(monkeypatch):
    monkeypatch.setenv("answer", "42")
    monkeypatch.setenv("word", "text")
    monkeypatch.setenv("answer_db2", "7")
    plain, suffixed = ConfigOptions.create_from_environment(""), ConfigOptions.create_from_environment("db2")
    assert plain.get_integer_option("answer") == 42 and plain.get_string_option("word") == "text"
    assert suffixed.get_integer_option("answer") == 7 and not suffixed.is_configured("word")
    with pytest.raises(RedisKeyError, match="word_db2"):
        suffixed.get_string_option("word")
    suffixed.override_string_option("word", "given")
    suffixed.override_integer_option("answer", 8)
    assert suffixed.get_string_option("word") == "given" and suffixed.get_integer_option("answer") == 8
    assert plain.get_integer_option("answer") == 42  # overrides belong to one instance
    monkeypatch.setenv("bad", "forty")
    with pytest.raises(ValueError, match="not an integer"):
        plain.get_integer_option("bad")


def test_options_not_made_by_the_factory_refuse_after_type_checks():
    options = ConfigOptions()
    with pytest.raises(RedisRuntimeError, match="factory"):
        options.get_integer_option("key")
    with pytest.raises(TypeError):
        options.get_integer_option(42)
    with pytest.raises(TypeError):
        options.override_string_option("key", 42)
    with pytest.raises(TypeError):
        ConfigOptions.create_from_environment(None)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((None,), {"logger_name": "a"}),
        ((None, "a"), {}),
        ((), {"config_options": "factory"}),
        (("factory", "a"), {}),
        ((False,), {}),
        ((True,), {"logger_name": "a"}),
        ((False, "address"), {}),
        ((), {"cluster": False, "address": "address"}),
        ((), {"address": "address"}),
        (("address", False, "a"), {}),  # SmartRedis before 0.5: Client(address, cluster, logger_name)
    ],
)
def test_both_constructor_forms(sr_environ, peek, args, kwargs):
    def real(value):
        if value == "factory":
            return ConfigOptions.create_from_environment("")
        return sr_environ.address if value == "address" else value

    client = Client(*map(real, args), **{k: real(v) for k, v in kwargs.items()})
    client.put_tensor("made", np.ones(1))
    assert peek.key_exists("made")
    assert str(client) != repr(client) and sr_environ.address in str(client)


def test_address_form_sets_ssdb(sr_environ, monkeypatch):
    monkeypatch.delenv("SSDB")
    Client(False, sr_environ.address)
    assert os.environ["SSDB"] == sr_environ.address


def test_constructor_argument_errors(sr_environ):
    with pytest.raises(TypeError, match="argument 0"):
        Client(42)
    with pytest.raises(TypeError, match="unexpected keyword"):
        Client(False, client_id="old")
    with pytest.raises(TypeError):
        Client(None, logger_name=3)


def test_ssdb_forms(sr_environ, monkeypatch, peek):
    address = sr_environ.address
    forms = [address, f"{address},"]
    if not address.startswith("unix://"):
        forms.append(",".join(f"tcp://{a}" for a in address.split(",")))
    for form in forms:
        monkeypatch.setenv("SSDB", form)
        Client(None).put_tensor("t", np.ones(1))
        assert peek.key_exists("t")


def test_connection_errors(monkeypatch, tmp_path):
    clear_environment(monkeypatch)
    with pytest.raises(RedisConnectionError, match=r"\$SSDB not set"):
        Client(None)
    monkeypatch.setenv("SSDB", "not-an-address:6379;")
    with pytest.raises(RedisConnectionError, match="invalid because of"):
        Client(None)
    with simdask.Store("standalone") as gone:
        address = gone.address
    monkeypatch.setenv("SSDB", address)
    monkeypatch.setenv("SR_CONN_TIMEOUT", "1")
    began = time.monotonic()
    with pytest.raises(RedisConnectionError, match=f"Could not connect to Orchestrator at {address}"):
        Client(None)
    assert time.monotonic() - began < 10


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SR_CONN_TIMEOUT", "0"),
        ("SR_CMD_TIMEOUT", "-1"),
        ("SR_CMD_TIMEOUT", "3000000"),
        ("SR_CONN_INTERVAL", "0"),
        ("SR_CMD_INTERVAL", "x"),
        ("SR_THREAD_COUNT", "-1"),
    ],
)
def test_bad_sr_variables_are_value_errors_naming_them(sr_environ, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        Client(None)


def test_timeouts_reach_simdask_and_smartredis_names_win(sr_environ, monkeypatch):
    monkeypatch.setenv("SIMDASK_CONNECT_TIMEOUT", "3")
    monkeypatch.setenv("SIMDASK_IO_TIMEOUT", "4")
    options = Client(None).simdask_client.session.options
    assert (options.connect_timeout, options.socket_timeout) == (3, 4)
    for name, value in (("SR_CONN_TIMEOUT", "5"), ("SR_CMD_TIMEOUT", "6"), ("SR_THREAD_COUNT", "0")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SR_DB_TYPE", "Clustered")  # accepted whatever the store is: simdask asks it
    options = Client(None).simdask_client.session.options
    assert (options.connect_timeout, options.socket_timeout) == (5, 6)


def test_overridden_options_are_what_the_client_uses(sr_environ, monkeypatch, peek):
    monkeypatch.setenv("SSDB", "not-used:1")
    options = ConfigOptions.create_from_environment("")
    options.override_string_option("SSDB", sr_environ.address)
    options.override_string_option("SSKEYOUT", "given")
    options.override_integer_option("SR_CMD_TIMEOUT", 9)
    client = Client(options, "overridden")
    client.put_tensor("u", np.ones(1))
    assert peek.key_exists("given.u") and client.simdask_client.session.options.socket_timeout == 9


def test_simdask_address_applies_without_ssdb(sr_environ, monkeypatch, peek):
    monkeypatch.delenv("SSDB")
    monkeypatch.setenv("SIMDASK_ADDRESS", sr_environ.address)
    Client(None).put_tensor("via_simdask_address", np.ones(1))
    assert peek.key_exists("via_simdask_address")


def test_suffixed_options_pick_the_store(sr_environ, unix_store, monkeypatch):
    """Two stores in one process, as SmartSim's multi-database runs set them: SSDB_<suffix>."""
    monkeypatch.setenv("SSDB", "not-used:1")
    monkeypatch.setenv("SSDB_unix", unix_store.address)
    monkeypatch.setenv("SSDB_main", sr_environ.address)
    on_unix = Client(ConfigOptions.create_from_environment("unix"), "unix")
    on_main = Client(ConfigOptions.create_from_environment("main"), "main")
    assert on_unix.simdask_client.address == unix_store.address
    assert on_main.simdask_client.address == simdask.Client(sr_environ.address).address
    monkeypatch.delenv("SSDB_unix")
    monkeypatch.setenv("SIMDASK_ADDRESS", unix_store.address)
    with pytest.raises(RedisConnectionError, match=r"\$SSDB_unix not set"):  # simdask's names are not suffixed
        Client(ConfigOptions.create_from_environment("unix"))


def test_this_is_simdasks_smartredis():
    assert smartredis.__simdask__ is True
    assert smartredis.__file__.endswith(os.path.join("compat", "python", "smartredis", "__init__.py"))
