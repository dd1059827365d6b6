"""examples/smartredis/c: a SmartSim-style C simulation, built with find_package(smartredis) and run."""

from __future__ import annotations

import inspect

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
