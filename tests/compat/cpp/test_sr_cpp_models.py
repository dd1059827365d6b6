"""Models and scripts from C++ (set_model*, set_script*, run_model, run_script, _multigpu) run by a store's own
serving loops, as RedisAI ran them inside the database; and run_model without any serving loop."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from sr_cpp_support import run_case

import simdask


@pytest.mark.parametrize("kind", ["standalone", "cluster"])
def test_models_and_scripts(sr_cpp_program, model_files, request, kind, sr_env):
    store = request.getfixturevalue("serving_store" if kind == "standalone" else "serving_cluster_store")
    model, script = model_files
    run_case(sr_cpp_program, "models", sr_env(store, SR_TEST_SCRIPT_FILE=str(script)), model)


def test_run_model_without_serving_loops_fails_at_once(sr_cpp_program, model_files, sr_store, sr_env):
    """No serving loop: a RuntimeException saying what to start, long before SR_MODEL_TIMEOUT (60 s here)."""
    with simdask.Client(sr_store.address) as client:
        client.flush()
    model, _ = model_files
    proc = run_case(sr_cpp_program, "noserve", sr_env(sr_store, SR_MODEL_TIMEOUT="60000"), model)
    elapsed_ms = int(proc.stdout.split("noserve: ")[1].split(" ms")[0])
    assert elapsed_ms < 20000, proc.stdout


def _gpus() -> int:
    if shutil.which("nvidia-smi") is None:
        return 0
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return len([line for line in out.stdout.splitlines() if line.startswith("GPU ")])


@pytest.mark.skipif(_gpus() == 0, reason="needs a GPU (nvidia-smi)")
def test_multigpu_runs_on_gpus(sr_cpp_program, model_files, sr_env):
    """set_model_from_file_multigpu / run_model_multigpu with one serving loop per GPU (device "GPU:<i>")."""
    gpus = _gpus()
    model, script = model_files
    with simdask.Store("standalone", serve=gpus) as store:
        run_case(sr_cpp_program, "gpu", sr_env(store, SR_TEST_SCRIPT_FILE=str(script), SR_TEST_GPUS=str(gpus)), model)
