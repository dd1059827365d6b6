"""examples/c: build the diffusion example against the installed C client, run it against
a store, steer it from a Python thread, and check its field against numpy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from simdask_tests_native import ROOT, load_steer, run_steered

EXAMPLE = ROOT / "examples" / "c"


@pytest.fixture(scope="module")
def diffusion_c(native_c, tmp_path_factory):
    build = tmp_path_factory.mktemp("example-c")
    native_c.cmake_build(EXAMPLE, build)
    return build / "diffusion"


def test_c_example_steered_from_a_python_thread(diffusion_c, store_client, c_store):
    proc = run_steered([diffusion_c, "200", "50"], store_client, c_store.address)
    assert "step 25: kappa = 0.2 from Python" in proc.stdout
    assert "done: 50 steps of 200 points" in proc.stdout
    steer = load_steer()
    expected = steer.reference(steer.initial_field((200,)), 50, 0.1, 0.2, 1)
    np.testing.assert_allclose(store_client.get_tensor("u.0049"), expected, rtol=1e-12, atol=1e-15)
    assert len([k for k in store_client.redis().keys("u.*")]) == 50
    assert not store_client.tensor_exists("kappa")  # the program consumed it
    assert store_client.get_tensor("simdask:end") == 50  # end-of-run marker, 0-d int64


def test_c_example_with_its_steering_script(diffusion_c):
    proc = subprocess.run(
        [sys.executable, EXAMPLE / "steer.py", diffusion_c], capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "matches numpy: True" in proc.stdout
