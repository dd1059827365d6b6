"""The Fortran client (client_fortran/, module simdask) against a real store and the Python client."""

from __future__ import annotations

import re
import subprocess
import threading
import time

import numpy as np
from simdask_tests_native import Responder, assert_timed_out, lines_while_frozen, native_env, run_program


def run_case(native, address, case, **env):
    return run_program([native.f_tests, case], native_env(address, **env))


def reference(kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """What f_roundtrip.inc writes: element i (1-based, F order) = f(3 i - 7)."""
    v = np.arange(1, int(np.prod(shape)) + 1) * 3 - 7
    values = {
        "r4": (v.astype(np.float32) * np.float32(0.5)),
        "r8": v * 0.25,
        "i4": (v * 1000).astype(np.int32),
        "i8": v.astype(np.int64) * 10**10,
    }[kind]
    return values.reshape(shape, order="F")


def test_install_layout(native_fortran):
    prefix = native_fortran.prefix
    for path in (
        "include/simdask.mod",
        "lib/libsimdask_fortran.so",
        "lib/libsimdask_fortran.a",
        "lib/pkgconfig/simdask-fortran.pc",
        "lib/cmake/simdask_fortran/simdask_fortranConfig.cmake",
    ):
        assert (prefix / path).exists(), path
    libs = subprocess.run(
        ["pkg-config", "--libs", "simdask-fortran"], env=native_fortran.env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "-lsimdask_fortran" in libs and "-lsimdask" in libs


def test_fortran_array_read_in_python_with_same_shape_and_index(native_fortran, store_client, c_store):
    """real(8) a(5, 3, 2), a(i, j, k) = 100 i + 10 j + k: Python sees shape (5, 3, 2) and a[i-1, j-1, k-1]."""
    run_case(native_fortran, c_store.address, "put_532")
    a = store_client.get_tensor("f_a532")
    assert a.shape == (5, 3, 2) and a.dtype == np.float64
    assert a.flags.f_contiguous  # stored in F order, viewed without a copy
    for i in range(1, 6):
        for j in range(1, 4):
            for k in range(1, 3):
                assert a[i - 1, j - 1, k - 1] == 100 * i + 10 * j + k
    out = np.empty((5, 3, 2))  # unpacking into a C-order array transposes
    store_client.unpack_tensor("f_a532", out)
    np.testing.assert_array_equal(out, a)


def test_every_kind_and_rank_round_trips_and_reads_in_python(native_fortran, store_client, c_store):
    run_case(native_fortran, c_store.address, "roundtrip")
    shapes = {1: (7,), 2: (3, 4), 3: (5, 3, 2), 4: (2, 3, 2, 2)}
    dtypes = {"r4": np.float32, "r8": np.float64, "i4": np.int32, "i8": np.int64}
    for kind, dtype in dtypes.items():
        for rank, shape in shapes.items():
            got = store_client.get_tensor(f"ft_{kind}_{rank}")
            assert got.dtype == dtype and got.shape == shape, (kind, rank)
            np.testing.assert_array_equal(got, reference(kind, shape), err_msg=f"{kind} rank {rank}")


def test_python_c_order_arrays_unpacked_in_fortran(native_fortran, store_client, c_store):
    store_client.put_tensor("py_c", np.arange(24.0).reshape(4, 3, 2))
    store_client.put_tensor("py_i4", np.arange(15, dtype=np.int32).reshape(3, 5))
    store_client.put_tensor("py_big", np.arange(1024 * 2560, dtype=np.float64).reshape(1024, 2560))  # chunked
    run_case(native_fortran, c_store.address, "unpack_python")


def test_sections_scalars_exists_poll_delete(native_fortran, store_client, c_store):
    def later():
        time.sleep(0.3)
        store_client.put_tensor("f_later", np.zeros(2))

    writer = threading.Thread(target=later)
    writer.start()
    try:
        run_case(native_fortran, c_store.address, "misc")
    finally:
        writer.join()
    m = np.add.outer(np.arange(1, 11), 100 * np.arange(1, 7)).astype(np.float64)
    np.testing.assert_array_equal(store_client.get_tensor("f_section"), m[0:10:2, :])
    assert store_client.get_tensor("f_empty").shape == (0,)


def test_error_statuses(native_fortran, store_client, c_store):
    run_case(native_fortran, c_store.address, "errors")


def test_password_refused(native_fortran):
    """A protected store and no password, or a wrong one: SD_ERR_AUTH, the message naming the address."""
    from simdask import Store

    with Store(password="s3cret") as store:
        for env in ({}, {"SIMDASK_PASSWORD": "wrong"}):
            proc = run_case(native_fortran, store.address, "auth", **env)
            assert store.address in proc.stdout


def test_run_model_and_script(native_fortran, store_client, c_store):
    """run_model/run_script against a stand-in responder that records the raw requests (the wire check;
    test_fortran_inference.py runs the same program against the real service)."""
    with Responder(c_store.address) as responder:
        run_case(native_fortran, c_store.address, "requests")
    assert [q.get("model") or q.get("script") for q in responder.requests] == ["copy", "fail", "slow", "double"]
    assert responder.requests[0]["inputs"] == '["f_in"]'


def test_calls_return_by_their_deadlines_when_the_store_stops_answering(native_fortran):
    """SIGSTOP: put_tensor (1 s of I/O) and a new client's initialize (1 s to connect, 1 s for a reply) return
    SD_ERR_TIMEOUT in time; after SIGCONT the client works again."""
    from simdask import Store

    deadlines = {"put_tensor": 1000, "initialize": 2000}
    with Store() as store:
        lines = lines_while_frozen([native_fortran.f_tests, "frozen"], native_env(store.address), store)
    assert_timed_out(lines, deadlines, "7", 1500)  # 7: SD_ERR_TIMEOUT


def test_fortran_status_codes_are_the_c_clients(native_fortran):
    header = (native_fortran.prefix / "include" / "simdask.h").read_text()
    names = [
        "SD_OK",
        "SD_ERR_ARG",
        "SD_ERR_CONNECTION",
        "SD_ERR_NOT_FOUND",
        "SD_ERR_FORMAT",
        "SD_ERR_TYPE",
        "SD_ERR_SHAPE",
        "SD_ERR_TIMEOUT",
        "SD_ERR_MODEL",
        "SD_ERR_NOMEM",
        "SD_ERR_STORE",
        "SD_ERR_AUTH",
        "SD_ERR_CONCURRENT",
    ]
    enum = header.split("enum sd_status {")[1].split("};")[0]
    assert re.findall(r"^\s*(SD_\w+)", enum, flags=re.M) == names
    from simdask_tests_native import ROOT

    module = (ROOT / "client_fortran" / "src" / "simdask.f90").read_text()
    for value, name in enumerate(names):
        assert f"{name} = {value}" in module, name
