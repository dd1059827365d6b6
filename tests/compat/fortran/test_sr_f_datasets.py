"""SmartRedis's Fortran datasets, aggregation lists and ensemble prefixes on simdask, against standalone,
Unix-socket and cluster stores, with SmartRedis's key layout checked from Python."""

from __future__ import annotations

import numpy as np
from simdask_tests_native import store_keys
from sr_f_support import run_case

import simdask


def test_datasets_written_in_fortran_read_in_python(sr_f_program, sr_any_store, sr_f_env):
    """Tensors of several types, scalar metadata of the four types, strings; add_tensor copied the buffer."""
    run_case(sr_f_program, "datasets_write", sr_f_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        ds = client.get_dataset("f_ds")
        assert ds.get_tensor_names() == ["u", "ids", "flags", "step1", "step2"]
        np.testing.assert_array_equal(ds.get_tensor("u"), np.add.outer(10 * np.arange(1, 5), np.arange(1, 4)))
        ids = ds.get_tensor("ids")
        assert ids.dtype == np.int16 and ids.tolist() == [7, -8, 9]
        assert ds.get_tensor("flags").dtype == np.int8
        assert ds.get_tensor("step1").tolist() == [1, 1, 1] and ds.get_tensor("step2").tolist() == [2, 2, 2]
        assert ds.get_meta_scalars("time").tolist() == [1.5, 2.5]
        assert ds.get_meta_scalars("scale").dtype == np.float32
        assert ds.get_meta_scalars("count").dtype == np.int32
        assert ds.get_meta_scalars("step").tolist() == [7]
        assert ds.get_meta_strings("source") == ["fortran", "sr_f_tests"]
    assert "{f_ds}.meta" in store_keys(sr_any_store.address, "{f_ds}*")


def test_datasets_written_in_python_read_in_fortran(sr_f_program, sr_any_store, sr_f_env):
    ds = simdask.Dataset("py_ds")
    ds.add_tensor("temp", np.arange(12.0).reshape(3, 4))
    ds.add_meta_scalar("dt", np.float32(0.5))
    ds.add_meta_scalar("steps", np.int64(10))
    ds.add_meta_scalar("steps", np.int64(20))
    with simdask.Client(sr_any_store.address) as client:
        client.put_dataset(ds)
    run_case(sr_f_program, "datasets_read", sr_f_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        moved = client.get_dataset("f_ds_moved")
        np.testing.assert_array_equal(moved.get_tensor("temp"), np.arange(12.0).reshape(3, 4))
        assert not client.dataset_exists("py_ds")


def test_aggregation_lists(sr_f_program, sr_any_store, sr_f_env):
    """append, length, polls, whole and ranged reads (negative indices), copy, rename, delete."""
    run_case(sr_f_program, "lists", sr_f_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        listed = client.get_datasets_from_list("f_list3")
        assert [d.name for d in listed] == ["f_e1", "f_e2", "f_e3"]
        assert client.get_list_length("f_list") == 0


def test_ensemble_prefixes(sr_f_program, sr_any_store, sr_f_env):
    """SSKEYOUT/SSKEYIN as SmartSim sets them for ensemble member m0 reading member m1."""
    with simdask.Client(sr_any_store.address) as client:
        client.put_tensor("m1.v", np.array([5.0, 6.0]))
    run_case(sr_f_program, "prefixes", sr_f_env(sr_any_store, SSKEYOUT="m0", SSKEYIN="m0,m1"))
    keys = store_keys(sr_any_store.address, "*")
    for key in ("m0.u", "plain", "m0.{ds}.meta", "{ds}.meta", "m0.agg", "agg_plain"):
        assert key in keys, (key, keys)
    assert "u" not in keys and "agg" not in keys
