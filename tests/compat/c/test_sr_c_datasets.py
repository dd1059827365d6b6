"""SmartRedis's C API: DataSet objects, datasets in the store, aggregation lists and their ranges."""

from __future__ import annotations

import numpy as np
from simdask_tests_native import run_program

import simdask


def test_datasets(sr_c, sr_env, sr_any_store):
    """add_tensor copies, metadata of every type, reads in every layout, copy/rename/delete, error codes."""
    run_program([sr_c.tests, "datasets"], sr_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        assert client.dataset_exists("ds1")  # the original stays after the copy's rename
        ds = client.get_dataset("ds1")
        np.testing.assert_array_equal(ds.get_tensor("first"), np.arange(1.0, 7.0).reshape(2, 3))
        np.testing.assert_array_equal(ds.get_tensor("second"), np.full((2, 3), -1.0))
        np.testing.assert_array_equal(ds.get_tensor("fortran"), [[0, 1, 2], [10, 11, 12]])
        assert ds.get_meta_scalars("d").tolist() == [2.5, 3.5]
        assert ds.get_meta_scalars("u64").tolist() == [2**63]
        assert ds.get_meta_strings("s") == ["hello", "world"]


def test_lists(sr_c, sr_env, sr_any_store):
    """append, length, the three polls, get_datasets_from_list, ranges (negative, past the end, empty), copy/rename."""
    run_program([sr_c.tests, "lists"], sr_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        bases = [d.get_meta_scalars("base")[0] for d in client.get_datasets_from_list("ensemble")]
        assert bases == [0.0, 100.0, 200.0, 300.0, 400.0]
