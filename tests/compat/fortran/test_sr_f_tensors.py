"""SmartRedis's Fortran API on simdask: installation, tensors of every type and rank, sections, dims, keys and
misuse, against standalone, Unix-socket and cluster stores, with what Fortran wrote read back from Python."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sr_f_support import reference, run_case

import simdask

KINDS = {
    "float": np.float32,
    "double": np.float64,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
}
SHAPES = {1: (7,), 2: (3, 4), 3: (5, 3, 2), 4: (2, 3, 2, 2), 7: (2, 1, 2, 1, 2, 1, 2)}


def test_install_layout(smartredis_fortran):
    """The modules, enum_fortran.inc, both libraries and the pkg-config file a SmartRedis build installs."""
    prefix = smartredis_fortran.prefix
    for module in ("client", "dataset", "configoptions", "logger", "logcontext", "errors"):
        assert (prefix / "include" / f"smartredis_{module}.mod").exists(), module
    for path in ("include/enum_fortran.inc", "lib/libsmartredis-fortran.so", "lib/libsmartredis-fortran.a"):
        assert (prefix / path).exists(), path
    libs = smartredis_fortran.pkg_config("--libs", "smartredis-fortran")
    assert "-lsmartredis-fortran" in libs and "-lsmartredis" in libs
    includes = [Path(f[2:]).resolve() for f in smartredis_fortran.pkg_config("--cflags", "smartredis-fortran")]
    assert (prefix / "include").resolve() in includes  # where enum_fortran.inc and the .mod files are


def test_every_type_and_rank_round_trips(sr_f_program, sr_any_store, sr_f_env):
    """real(4|8), integer(1|2|4|8) of ranks 0 (dims [1]) to 4 and 7: Python sees each array with its Fortran shape
    and the same element at the same index."""
    run_case(sr_f_program, "roundtrip", sr_f_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        for kind, dtype in KINDS.items():
            got = client.get_tensor(f"f_{kind}_0")
            assert got.dtype == dtype and got.tolist() == [reference(kind, (5,))[-1]]
            for rank, shape in SHAPES.items():
                got = client.get_tensor(f"f_{kind}_{rank}")
                assert got.dtype == dtype and got.shape == shape, (kind, rank, got.dtype, got.shape)
                np.testing.assert_array_equal(got, reference(kind, shape), err_msg=f"{kind} rank {rank}")


def test_python_arrays_read_in_fortran(sr_f_program, sr_store, sr_f_env):
    """numpy's row-major arrays unpack into Fortran arrays of the same shape: a(i, j) == py[i-1, j-1]."""
    with simdask.Client(sr_store.address) as client:
        client.flush()
        client.put_tensor("py_c", np.arange(24.0).reshape(4, 3, 2))
        client.put_tensor("py_i32", np.arange(15, dtype=np.int32).reshape(3, 5))
        client.put_tensor("py_f64_2x2", np.eye(2))
    run_case(sr_f_program, "python_in", sr_f_env(sr_store))


def test_sections_and_reshaping_dims(sr_f_program, sr_store, sr_f_env):
    run_case(sr_f_program, "sections", sr_f_env(sr_store))
    m = np.add.outer(np.arange(1, 11), 100 * np.arange(1, 7)).astype(np.float64)
    with simdask.Client(sr_store.address) as client:
        np.testing.assert_array_equal(client.get_tensor("f_section"), m[0:10:2, :])
        np.testing.assert_array_equal(client.get_tensor("f_reshaped"), np.arange(1.0, 13.0).reshape(3, 4, order="F"))


def test_dims_that_do_not_fit_and_missing_keys(sr_f_program, sr_store, sr_f_env):
    """dims describing more elements than the array: SRParameterError with a message, nothing sent; a missing
    tensor: SRKeyError naming it; other dims than the stored ones: SRRuntimeError."""
    run_case(sr_f_program, "dims", sr_f_env(sr_store))
    with simdask.Client(sr_store.address) as client:
        assert not client.tensor_exists("f_bad")


def test_misuse_returns_codes_and_says_why(sr_f_program, sr_store, sr_f_env):
    """A client or dataset never initialized, or destroyed, returns SRParameterError; SR_error_parser and
    print_last_error write to standard error; a destroyed client can be initialized again."""
    proc = run_case(sr_f_program, "misuse", sr_f_env(sr_store))
    assert "SmartRedis client has not been initialized" in proc.stderr
    assert "Key error: tensor 'f_missing' not found" in proc.stderr
    with simdask.Client(sr_store.address) as client:
        assert client.get_tensor("f_again").tolist() == [1.0, 1.0, 1.0]


def test_exists_poll_rename_copy_delete(sr_f_program, sr_any_store, sr_f_env):
    run_case(sr_f_program, "keys", sr_f_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        np.testing.assert_array_equal(client.get_tensor("f_moved"), [1, 2, 3, 4])
        assert client.get_tensor("f_moved").dtype == np.int16
        assert client.tensor_exists("f_k")
        assert not client.tensor_exists("f_gone") and not client.tensor_exists("f_copy")


def test_all_initialize_forms_on_each_store_kind(sr_f_program, sr_any_store, sr_f_env):
    """initialize(logger_name) and the deprecated initialize(cluster, logger_name) with cluster .true. and .false.
    on every kind of store (simdask finds the kind itself, so the flag does not have to match)."""
    run_case(sr_f_program, "basic", sr_f_env(sr_any_store))
