"""examples/fortran: build the 2-D diffusion example against the installed Fortran client
(find_package, -std=f2008), run it against a store, steer it from a Python thread, check its field; without
a store it fails with a message and a non-zero exit status."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from simdask_tests_native import ROOT, load_steer, native_env, run_program, run_steered

EXAMPLE = ROOT / "examples" / "fortran"
STEER = ROOT / "examples" / "c" / "steer.py"


@pytest.fixture(scope="module")
def diffusion_f(native_fortran, tmp_path_factory):
    build = tmp_path_factory.mktemp("example-fortran")
    native_fortran.cmake_build(EXAMPLE, build)
    return build / "diffusion"


def test_fortran_example_steered_from_a_python_thread(diffusion_f, store_client, c_store):
    proc = run_steered([diffusion_f], store_client, c_store.address)
    assert "step 25: kappa = 0.200 from Python" in proc.stdout
    u = store_client.get_tensor("u.0049")
    assert u.shape == (64, 48) and u.flags.f_contiguous  # u(nx, ny) as written, no transpose
    steer = load_steer()
    expected = steer.reference(steer.initial_field((64, 48)), 50, 0.1, 0.2, 2)
    np.testing.assert_allclose(u, expected, rtol=1e-12, atol=1e-15)
    assert not store_client.tensor_exists("kappa")
    assert store_client.get_tensor("simdask:end") == 50  # end-of-run marker, 0-d int64


def test_fortran_example_with_the_steering_script(diffusion_f):
    proc = subprocess.run([sys.executable, STEER, diffusion_f], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "matches numpy: True" in proc.stdout


def test_fortran_example_fails_loudly_without_a_store(diffusion_f):
    """No store at the address: the program stops with the message on stderr and a non-zero exit status, so a
    batch system sees the failure."""
    proc = run_program([diffusion_f], native_env("127.0.0.1:1"), expect_ok=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # SD_ERR_CONNECTION
    assert "simdask: initialize failed (SD_ERR_CONNECTION)" in proc.stderr and "127.0.0.1:1" in proc.stderr
    assert "done:" not in proc.stdout
