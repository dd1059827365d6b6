"""SmartRedis's C API: models and scripts stored, fetched, polled and deleted; runs; the multi-GPU names."""

from __future__ import annotations

import inspect
import zipfile

import pytest
from simdask_tests_native import run_program

import simdask


def _torchscript_like(path) -> None:
    """A zip laid out as a TorchScript archive (code/ and constants.pkl): what set_model accepts as TORCH bytes."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("m/code/__torch__.py", "def forward(self, x):\n    return x\n")
        z.writestr("m/constants.pkl", b"\x80\x02).")


def test_models_and_scripts(sr_c, sr_env, sr_any_store, tmp_path):
    """set_model(_from_file), get_model, model_exists, poll_model, delete, multigpu copies, scripts, error codes."""
    model, script = tmp_path / "model.pt", tmp_path / "script.txt"
    _torchscript_like(model)
    script.write_text("def twice(x):\n    return 2 * x\n")
    run_program([sr_c.tests, "models", model, script], sr_env(sr_any_store))
    with simdask.Client(sr_any_store.address) as client:
        spec = client.get_model_spec("m_torch")
        assert (spec.backend, spec.device) == ("TORCH", "GPU:1")
        assert client.get_script("s_file") == script.read_text()
        assert client.model_exists("sfg.GPU:3") and not client.model_exists("sg.GPU:0")


def test_run_without_a_serving_loop_fails_at_once(sr_c, sr_env, sr_store, tmp_path):
    """run_model/run_script with no inference service: SRRuntimeError within a second, saying what to start."""
    model, script = tmp_path / "model.pt", tmp_path / "script.txt"
    _torchscript_like(model)
    script.write_text("def twice(x):\n    return 2 * x\n")
    with simdask.Client(sr_store.address) as client:
        client.flush()
    env = sr_env(sr_store, SR_MODEL_TIMEOUT="30000")
    run_program([sr_c.tests, "models", model, script], env)
    out = run_program([sr_c.tests, "no_service"], env).stdout
    assert "simdask serve" in out


def test_run_model_and_script(sr_c, sr_env, tmp_path):
    """run_model and run_script answered by a store's own serving loop (as RedisAI ran them inside the database)."""
    torch = pytest.importorskip("torch", reason="running models needs torch")
    if "serve" not in inspect.signature(simdask.Store).parameters:
        pytest.skip("simdask.Store has no serving loops of its own (serve=) yet")

    class Double(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    with simdask.Store("standalone", serve=1) as store, simdask.Client(store.address) as client:
        client.set_model("double", torch.jit.script(Double()), "TORCH")
        client.set_script("scale", "def triple(x):\n    return 3 * x\n")
        run_program([sr_c.tests, "run"], sr_env(store))
