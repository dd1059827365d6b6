"""SmartRedis's C API: error codes and SRGetLastError text, ConfigOptions, the environment, logging."""

from __future__ import annotations

import numpy as np
import pytest
from simdask_tests_native import run_program

import simdask


def test_error_codes_and_messages(sr_c, sr_env, sr_any_store):
    """Each kind of failure returns SmartRedis's code; SRGetLastError names the key; the last error is per thread."""
    run_program([sr_c.tests, "errors"], sr_env(sr_any_store))


@pytest.mark.parametrize(
    ("settings", "code", "text"),
    [
        ({"SSDB": "127.0.0.1:1", "SR_CONN_TIMEOUT": "1"}, 2, "127.0.0.1:1"),  # SRDatabaseError, naming the address
        ({"SSDB": "not-an-address"}, 5, "not-an-address"),  # SRParameterError
        ({"SR_CMD_TIMEOUT": "soon"}, 5, "SR_CMD_TIMEOUT"),
        ({"SR_CONN_TIMEOUT": "0"}, 5, "SR_CONN_TIMEOUT"),
        ({"SR_THREAD_COUNT": "-2"}, 5, "SR_THREAD_COUNT"),
        ({"SR_DB_TYPE": "Sharded"}, 5, "SR_DB_TYPE"),
        ({"SR_LOG_LEVEL": "LOUD"}, 5, "SR_LOG_LEVEL"),
    ],
)
def test_client_creation_refused(sr_c, sr_env, sr_store, settings, code, text):
    """A client the environment cannot make: the code SmartRedis returns and a message naming the culprit."""
    out = run_program([sr_c.tests, "bad_client", str(code)], sr_env(sr_store, **settings)).stdout
    assert text in out


def test_settings_accepted(sr_c, sr_env, sr_store):
    """tcp:// in SSDB, an SR_DB_TYPE that does not match the store, the settings that have no effect: all accepted."""
    env = sr_env(sr_store, SSDB="tcp://" + sr_store.address, SR_DB_TYPE="Clustered", SR_THREAD_COUNT="0")
    env.update(SR_CONN_INTERVAL="5", SR_CMD_INTERVAL="5", SR_CONN_TIMEOUT="3", SR_CMD_TIMEOUT="20")
    with simdask.Client(sr_store.address) as client:
        client.put_tensor("py_u", np.arange(12, dtype=np.float32).reshape(3, 4))
        client.put_tensor("py_bool", np.array([True, False]))
    run_program([sr_c.tests, "cross"], env)


def test_model_timeout_read_at_each_run(sr_c, sr_env, sr_store):
    """SR_MODEL_TIMEOUT that is no integer fails run_model with SRParameterError (the client was made)."""
    run_program([sr_c.tests, "model_timeout"], sr_env(sr_store, SR_MODEL_TIMEOUT="1.5"))


def test_no_address_anywhere(sr_c, sr_env, sr_store):
    """Neither SSDB nor SIMDASK_ADDRESS: SRParameterError saying a store address is needed."""
    env = sr_env(sr_store)
    del env["SSDB"]
    assert "address" in run_program([sr_c.tests, "bad_client", "5"], env).stdout


def test_config_options_with_suffix(sr_c, sr_env, sr_any_store):
    """create_configoptions_from_environment("S1") reads SSDB_S1, SR_CMD_TIMEOUT_S1, ...; overrides win."""
    env = sr_env(sr_any_store, SSDB_S1=sr_any_store.address, SR_CMD_TIMEOUT_S1="7", SSKEYOUT_S1="member")
    env["SSDB"] = "127.0.0.1:1"  # the unsuffixed variable names no store
    run_program([sr_c.tests, "config"], env)
    with simdask.Client(sr_any_store.address) as client:
        np.testing.assert_array_equal(client.get_tensor("member.cfg_t"), [1.0, 2.0])


def test_simdask_variables_apply_when_smartredis_ones_are_unset(sr_c, sr_env, sr_store):
    """SIMDASK_ADDRESS and SIMDASK_KEY_PREFIX stand in for SSDB and SSKEYOUT."""
    env = sr_env(sr_store, SIMDASK_ADDRESS=sr_store.address, SIMDASK_KEY_PREFIX="sim")
    del env["SSDB"]
    with simdask.Client(sr_store.address) as client:
        client.flush()
        client.put_tensor("py_u", np.arange(12, dtype=np.float32).reshape(3, 4))
        client.put_tensor("py_bool", np.array([True, False]))
        run_program([sr_c.tests, "cross"], env)
        assert client.tensor_exists("sim.from_c")


def test_logging_to_a_file(sr_c, sr_env, sr_store, tmp_path):
    """SR_LOG_FILE and SR_LOG_LEVEL: lines of clients, datasets and log contexts, filtered by level."""
    log = tmp_path / "sr.log"
    run_program([sr_c.tests, "logging"], sr_env(sr_store, SR_LOG_FILE=str(log), SR_LOG_LEVEL="DEBUG"))
    text = log.read_text()
    assert "sr_c_tests@" in text and ":from the client" in text
    assert "my_context@" in text and "WARNING: from the log context" in text
    assert "logged_ds@" in text and "ERROR: from the dataset" in text
    assert "a_string_context@" in text and "with a string context" in text
    assert "too verbose" not in text and "never logged" not in text and "no context" not in text
    assert "delete_list failed: list_name is NULL" in text  # the library's own DEBUG line of a failed call
    quiet = tmp_path / "quiet.log"
    run_program([sr_c.tests, "logging"], sr_env(sr_store, SR_LOG_FILE=str(quiet), SR_LOG_LEVEL="quiet"))
    assert not quiet.exists() or quiet.read_text() == ""
