"""Fixtures of the experiment tests: fast polling, and a real Slurm when one can run.

Slurm comes up through ``scripts/slurm-up.sh`` (idempotent: seconds when
already up); when it cannot (not root, packages missing, a daemon fails) the
Slurm and PBS tests are skipped with the script's reason.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import dask.config
import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fast_polling():
    with dask.config.set({"simdask.experiment.poll-interval": 0.1}):
        yield


@pytest.fixture(scope="session")
def slurm() -> None:
    """A single-node Slurm (scripts/slurm-up.sh); the daemons stay up for the next session."""
    try:
        done = subprocess.run([str(REPO / "scripts" / "slurm-up.sh")], capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"no Slurm: scripts/slurm-up.sh could not run ({exc})")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["scripts/slurm-up.sh failed without saying why"]
        pytest.skip(f"no Slurm: {lines[-1]}")
