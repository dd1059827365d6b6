"""Tensors described from Fortran (``simdask_tensor_meta``, docs/fortran.md), opened in Python.

``f_tests.F90``'s ``described`` case writes a global theta(nx, nz) as 2 x 3 uneven blocks, each as an MPI rank
would (one process per band of ranks), with dims ("x", "z"), units, a time per step and 1-based block starts.
Python opens it as the Dataset it expects, identical to the same field written from Python as C-order blocks
theta[nz][nx] with dims ("z", "x").
"""

from __future__ import annotations

import itertools
import shutil
import subprocess

import numpy as np
import xarray as xr
from simdask_tests_native import SANITIZE, native_env, run_program

import simdask
from simdask.wire import Placement

NZ, NX = 5, 8
ROWS, COLS = (0, 2, 5), (0, 4, 5, 8)


def expected() -> xr.Dataset:
    step, z, x = np.meshgrid(np.arange(2), np.arange(NZ), np.arange(NX), indexing="ij")
    attrs = {"units": "K", "long_name": "potential temperature", "levels": NZ, "scale": 1.0}
    return xr.Dataset(
        {"theta": (("step", "z", "x"), 100.0 * step + 10.0 * z + x + 0.25, attrs)},
        coords={"step": [0, 1], "time": ("step", [0.0, 60.0]), "x": (5 * np.arange(NX) + 1) / 10},
    )


def run_under_valgrind(native, address: str, case: str) -> None:
    """Run an f_tests case, under valgrind when installed (and not built with the sanitizers): no invalid access,
    double free or definite leak."""
    cmd = [str(native.f_tests), case]
    if shutil.which("valgrind") and not SANITIZE:
        cmd = ["valgrind", "--quiet", "--error-exitcode=97", "--leak-check=full", "--errors-for-leak-kinds=definite"]
        cmd += ["--show-leak-kinds=definite", str(native.f_tests), case]
    proc = subprocess.run(cmd, env=native_env(address), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def put_from_python_in_c_order(client: simdask.Client, truth: xr.Dataset) -> None:
    """Each block as a C rank's theta[nz][nx]: dims, shape and start in C's index order."""
    theta, x = truth.theta.values, truth.x.values
    for step, (i, j) in itertools.product(range(2), itertools.product(range(2), range(3))):
        (z0, z1), (x0, x1) = ROWS[i : i + 2], COLS[j : j + 2]
        client.put_tensor(
            f"ptheta_{step}_{3 * i + j}",
            np.ascontiguousarray(theta[step, z0:z1, x0:x1]),
            dims=("z", "x"),
            attrs=truth.theta.attrs,
            coords={"time": 60.0 * step, "x": x[x0:x1]},
            block={"shape": (NZ, NX), "start": (z0, x0)},
        )


def test_a_decomposed_field_described_in_fortran_opens_as_from_python(native_fortran, store_client, c_store):
    for band in (0, 1):  # two processes, each the ranks of one band
        run_program([native_fortran.f_tests, "described", str(band)], native_env(c_store.address))
    info = store_client.tensor_info("ftheta_1_5")  # rank 5: theta(6:8, 3:5)
    assert (info.order, info.shape, info.dims) == ("F", (3, 3), ("x", "z"))
    assert info.block == Placement(shape=(NX, NZ), start=(5, 2))  # 1-based (6, 3) in Fortran
    assert info.coords == {"x": [2.6, 3.1, 3.6], "time": 60.0}
    truth = expected()
    from_fortran = simdask.open_dataset("ftheta_{step:d}_{rank:d}", store_client, name="theta")
    assert from_fortran.theta.data.chunks == (
        (2,),
        (2, 3),
        (4, 1, 3),
    )  # steps grouped (chunks="auto"), a chunk per block in space
    xr.testing.assert_identical(from_fortran.compute(), truth)
    put_from_python_in_c_order(store_client, truth)
    from_python = simdask.open_dataset("ptheta_{step:d}_{rank:d}", store_client, name="theta")
    xr.testing.assert_identical(from_fortran.compute(), from_python.compute())


def test_every_value_kind_and_a_shared_description(native_fortran, store_client, c_store):
    run_under_valgrind(native_fortran, c_store.address, "described_values")
    info = store_client.tensor_info("fvalues")
    assert info.dims == ("row", "member_x") and info.shape == (3, 2) and info.dtype == np.int32
    assert info.attrs == {
        "text": 'replaced: caf\u00e9 "quoted" \\',
        "third": 1.0 / 3.0,
        "half": 0.5,
        "tenth32": float(np.float32(0.1)),
        "big": 2**62,
        "negative": -7,
    }
    assert isinstance(info.attrs["half"], float) and isinstance(info.attrs["negative"], int)
    assert info.coords == {"member": "ctl", "time": 0.1}
    assert info.block == Placement(shape=(10, 2**40), start=(7, 2**40 - 2))
    for name in ("fvalues_mask", "fvalues_mask_too"):  # set through a copy: one description
        mask = store_client.tensor_info(name)
        assert mask.dims == ("m",) and mask.block == Placement(shape=(6,), start=(2,)), name
        assert mask.attrs == info.attrs and mask.coords == info.coords, name
        np.testing.assert_array_equal(store_client.get_tensor(name), [True, False, True, True])


def test_descriptions_that_do_not_fit_are_refused_in_fortran(native_fortran, store_client, c_store):
    run_under_valgrind(native_fortran, c_store.address, "described_errors")
    assert not store_client.tensor_exists("f_bad_meta")
    assert store_client.tensor_info("f_good_meta").block == Placement(shape=(5, 2), start=(1, 0))


def test_a_start_of_0_without_status_ends_the_program(native_fortran, c_store):
    proc = run_program([native_fortran.f_tests, "fail_block"], native_env(c_store.address), expect_ok=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = next(line for line in proc.stderr.splitlines() if line.startswith("simdask: "))
    assert "set_block failed (SD_ERR_ARG)" in line and "start(1) = 0: starts are 1-based" in line, line
    assert "still running" not in proc.stdout
