"""SmartRedis's C++ API (client.h, dataset.h, configoptions.h, logger.h) on simdask: the cases of
sr_cpp_tests.cpp against standalone, Unix-socket and cluster stores, with what they wrote read back from Python."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from simdask_tests_native import store_keys
from sr_cpp_support import run_case

import simdask


def test_errors_on_each_store_kind(sr_cpp_program, sr_any_store, sr_env):
    """Each failure throws its SmartRedis exception class with simdask's message (sr_cpp_tests.cpp, case_errors)."""
    run_case(sr_cpp_program, "errors", sr_env(sr_any_store))


def test_tensors(sr_cpp_program, sr_any_store, sr_env):
    """Every type in every layout (case_tensors); what C++ wrote in each layout is the same array to simdask's
    Python client, under SmartRedis's key layout."""
    run_case(sr_cpp_program, "tensors", sr_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        np.testing.assert_array_equal(client.get_tensor("xlang"), np.arange(12, dtype=np.float32).reshape(3, 4))
        expected = np.arange(1, 61).reshape(3, 4, 5)
        for layout in ("c", "n", "f"):
            got = client.get_tensor(f"{layout}_int16")
            assert got.dtype == np.int16
            np.testing.assert_array_equal(got, expected)
        assert client.get_tensor("c_uint8").dtype == np.uint8
        assert client.get_tensor("one").tolist() == [42.0]
    keys = store_keys(sr_any_store.address, "*_double")
    assert keys == ["c_double", "f_double", "n_double"]


def test_datasets_and_lists(sr_cpp_program, sr_any_store, sr_env):
    """DataSet (copying add_tensor, copy/move, metadata) and aggregation lists, then read back from Python."""
    run_case(sr_cpp_program, "datasets", sr_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        ds = client.get_dataset("sim_step")
        np.testing.assert_array_equal(ds.get_tensor("u"), [[1, 2, 3], [4, 5, 6]])
        np.testing.assert_array_equal(ds.get_tensor("v"), [10, 20, 30, 40, 50, 60])
        assert ds.get_meta_scalars("time").tolist() == [0.5, 1.5]
        assert ds.get_meta_strings("units") == ["K", "m/s"]
    assert "{sim_step}.meta" in store_keys(sr_any_store.address, "{sim_step}*")

    run_case(sr_cpp_program, "lists", sr_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        names = [ds.get_name() for ds in client.get_datasets_from_list("runs")]
    assert names == [f"entry_{k}" for k in range(5)]


def test_ensemble_prefixes(sr_cpp_program, sr_any_store, sr_env):
    """SSKEYOUT/SSKEYIN as SmartSim sets them for ensemble member ens_0 reading member ens_1."""
    with simdask.Client(sr_any_store.address) as client:
        client.put_tensor("ens_1.other", np.array([7.0]))
    run_case(sr_cpp_program, "prefixes", sr_env(sr_any_store, SSKEYOUT="ens_0", SSKEYIN="ens_0,ens_1"))
    keys = store_keys(sr_any_store.address, "*")
    for key in ("ens_0.t", "bare", "ens_0.{ds}.meta", "ens_0.agg"):
        assert key in keys, (key, keys)
    assert "t" not in keys and "agg" not in keys


def test_config_options_from_the_environment(sr_cpp_program, sr_any_store, sr_env):
    """create_from_environment with a suffix reads SSDB_<suffix>, SSKEYOUT_<suffix>; overrides reach the client."""
    env = sr_env(sr_any_store, SSDB_OCEAN=sr_any_store.address, SSKEYOUT_OCEAN="ocean", SR_CONN_TIMEOUT="5")
    run_case(sr_cpp_program, "config", env)
    keys = store_keys(sr_any_store.address, "*")
    assert "ocean.sst" in keys and "atmos.t2m" in keys


def test_simdask_address_when_ssdb_is_unset(sr_cpp_program, sr_store, sr_env):
    """Without SSDB the client takes SIMDASK_ADDRESS (simdask's own variable)."""
    env = sr_env(sr_store)
    env["SIMDASK_ADDRESS"] = env.pop("SSDB")
    run_case(sr_cpp_program, "lists", env)


def test_moving_a_client(sr_cpp_program, sr_store, sr_env):
    run_case(sr_cpp_program, "move", sr_env(sr_store))


def test_unreachable_store_is_a_database_exception(sr_cpp_program, sr_env):
    nowhere = SimpleNamespace(address="127.0.0.1:1")
    run_case(sr_cpp_program, "unreachable", sr_env(nowhere, SR_CONN_TIMEOUT="1"))


@pytest.mark.parametrize("kind", ["standalone", "unix", "cluster"])
def test_server_calls(sr_cpp_program, request, kind, sr_env):
    store = request.getfixturevalue(
        {"standalone": "sr_store", "unix": "sr_unix_store", "cluster": "sr_cluster_store"}[kind]
    )
    nodes = store.address.split(",")
    run_case(sr_cpp_program, "server", sr_env(store, SR_TEST_CLUSTER="1" if kind == "cluster" else "0"), *nodes)


def test_logging_to_a_file(sr_cpp_program, sr_store, tmp_path, sr_env):
    """SR_LOG_FILE gets the lines at or below SR_LOG_LEVEL, with their context: strings, objects, clients."""
    log = tmp_path / "debug.log"
    run_case(sr_cpp_program, "logging", sr_env(sr_store, SR_LOG_FILE=str(log), SR_LOG_LEVEL="DEBUG"))
    lines = log.read_text().splitlines()

    def logged(context: str, text: str) -> bool:
        return any(context in line and text in line for line in lines)

    assert logged("ctx_object", "info through an object")
    assert logged("ctx_object", "WARNING: warning through an object")
    assert logged("ctx_object", "ERROR: error through an object")
    assert logged("ctx_object", "New LogContext created")
    assert logged("ctx_object", "member call")
    assert logged("ctx_string", "WARNING: warning through a string")
    assert logged("ctx_string", "debug through a string")
    assert not logged("ctx_string", "developer through a string")
    assert logged("ctx_logger", "through the singleton")
    assert logged("ctx_client", "through a client")
    assert logged("ctx_dataset", "through a dataset")
    assert logged("ctx_traced", "API Function call called") and logged("ctx_traced", "API Function call exited")

    info = tmp_path / "info.log"
    run_case(sr_cpp_program, "logging", sr_env(sr_store, SR_LOG_FILE=str(info), SR_LOG_LEVEL="INFO"))
    text = info.read_text()
    assert "info through a string" in text and "debug through a string" not in text
    assert "New LogContext created" not in text
