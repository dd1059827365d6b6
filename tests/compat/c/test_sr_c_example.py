"""examples/smartredis/c: a SmartSim-style C simulation, built with find_package(smartredis) and run."""

from __future__ import annotations

import inspect
import os
import shutil

import numpy as np
import pytest
from simdask_tests_native import run_program

import simdask


def test_example_simulation(sr_c, sr_env, sr_any_store):
    """It runs against every store kind; its fields, datasets and list are what an analysis script reads."""
    out = run_program([sr_c.example], sr_env(sr_any_store)).stdout
    assert "snapshots: 4" in out and "inference skipped" in out
    with simdask.Client(sr_any_store.address) as client:
        snapshots = client.get_datasets_from_list("snapshots")
        assert [int(d.get_meta_scalars("step")[0]) for d in snapshots] == [25, 50, 75, 100]
        assert snapshots[-1].get_meta_strings("units") == ["kelvin"]
        np.testing.assert_array_equal(snapshots[-1].get_tensor("u"), client.get_tensor("field_0100"))
        assert client.get_tensor("field_0100").shape == (64,)


def test_example_runs_the_model_a_driver_stored(sr_c, sr_env):
    """With "heat_model" stored and a store serving it (as RedisAI ran models inside the database), run_model runs."""
    torch = pytest.importorskip("torch", reason="running models needs torch")
    if "serve" not in inspect.signature(simdask.Store).parameters:
        pytest.skip("simdask.Store has no serving loops of its own (serve=) yet")

    class Scale(torch.nn.Module):
        def forward(self, u: torch.Tensor) -> torch.Tensor:
            return 10 * u

    with simdask.Store("standalone", serve=1) as store, simdask.Client(store.address) as client:
        client.set_model("heat_model", torch.jit.script(Scale()), "TORCH")
        out = run_program([sr_c.example], sr_env(store)).stdout
        np.testing.assert_allclose(client.get_tensor("heat_model_out"), 10 * client.get_tensor("field_0100"))
    assert "heat_model: out[32]" in out


def test_example_under_mpirun(sr_c, sr_env):
    """The same program as the ranks of `mpirun -np 2` (built with MPI when CMake finds it): each rank puts its
    own rod, all append to one list, each runs the model on its field; the keys keep SmartRedis's names."""
    torch = pytest.importorskip("torch", reason="running models needs torch")
    flags = sr_c.example.parent / "CMakeFiles" / "sr_c_example.dir" / "flags.make"
    if shutil.which("mpirun") is None or "-DUSE_MPI" not in flags.read_text():
        pytest.skip("no MPI for C here (apt-get install openmpi-bin libopenmpi-dev)")

    class Scale(torch.nn.Module):
        def forward(self, u: torch.Tensor) -> torch.Tensor:
            return 10 * u

    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    mpirun = ["mpirun", "-np", "2", "--oversubscribe", *root, "--bind-to", "none"]
    with simdask.Store("standalone", serve=1) as store, simdask.Client(store.address) as client:
        client.set_model("heat_model", torch.jit.script(Scale()), "TORCH")
        out = run_program([*mpirun, sr_c.example], sr_env(store), timeout=180).stdout
        assert "rank 0 of 2: done" in out and "rank 1 of 2: done" in out, out
        assert "snapshots: 8" in out
        for rank in (0, 1):
            field = client.get_tensor(f"field_0100_r{rank}")
            np.testing.assert_allclose(client.get_tensor(f"heat_model_out_r{rank}"), 10 * field)
        np.testing.assert_allclose(client.get_tensor("field_0100_r1"), 2 * client.get_tensor("field_0100_r0"))
        assert client.get_list_length("snapshots") == 8
        assert not client.keys("@*")  # no run-scoped keys: SmartRedis's names under mpirun
