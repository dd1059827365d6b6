"""SmartRedis's C API: tensors of every type and memory layout, read across languages (test program sr_c_tests.c)."""

from __future__ import annotations

import numpy as np
from simdask_tests_native import run_program

import simdask


def test_tensors_every_type_and_layout(sr_c, sr_env, sr_any_store):
    """put/get/unpack of all SRTensorTypes, the four SRMemoryLayouts, copy/rename/delete/exists/poll."""
    run_program([sr_c.tests, "tensors"], sr_env(sr_any_store))


def test_tensors_cross_language(sr_c, sr_env, sr_any_store):
    """A C-contiguous and a Fortran-contiguous put are the same array for Python; Python's tensors read in C."""
    with simdask.Client(sr_any_store.address) as client:
        client.put_tensor("py_u", np.arange(12, dtype=np.float32).reshape(3, 4))
        client.put_tensor("py_bool", np.array([True, False]))
        run_program([sr_c.tests, "cross"], sr_env(sr_any_store))
        expected = np.array([[0.0, 1, 2], [10, 11, 12]])
        np.testing.assert_array_equal(client.get_tensor("from_c"), expected)
        np.testing.assert_array_equal(client.get_tensor("from_f"), expected)
        assert client.get_tensor("from_f").flags.f_contiguous
        small = client.get_tensor("from_c_i16")
        assert small.dtype == np.int16 and small.tolist() == [-3, 0, 3]


def test_program_built_with_pkg_config(sr_c, sr_env, sr_store):
    """The same program compiled with `pkg-config --cflags --libs smartredis` instead of find_package."""
    run_program([sr_c.tests_pkgconfig, "tensors"], sr_env(sr_store))
