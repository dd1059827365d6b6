"""examples/python/04_coupled_workflow.py runs as a user runs it: locally, and unchanged but for --launcher on Slurm."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from experiment_helpers import needs_jobqueue, squeue_left

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "04_coupled_workflow.py"
# this machine's Slurm "cluster" is one node on loopback: bind the store and Dask there
LOOPBACK = {
    "DASK_SIMDASK__EXPERIMENT__INTERFACE": "lo",
    "DASK_SIMDASK__EXPERIMENT__DASK__DASHBOARD_ADDRESS": "127.0.0.1:0",
}


def _run(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **LOOPBACK},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _check(out: str, launcher: str) -> None:
    assert f"{launcher} launcher: store at 127.0.0.1:" in out and "2 Dask workers" in out
    assert "step 0: amplitude 1.000" in out and "step 5: amplitude 0.082" in out
    assert "decay rate per step: 0.50" in out
    assert "simulation  model" in out and "Completed" in out


def test_coupled_workflow_locally(tmp_path):
    _check(_run(tmp_path), "local")
    assert (tmp_path / "coupled_workflow" / "simulation" / "simulation.sh").exists()


@needs_jobqueue
@pytest.mark.usefixtures("slurm")
def test_coupled_workflow_on_slurm(tmp_path):
    _check(_run(tmp_path, "--launcher", "slurm"), "slurm")
    assert "#SBATCH" in (tmp_path / "coupled_workflow" / "simulation" / "simulation.sh").read_text()
    assert squeue_left() == []
