"""examples/smartredis/python: the SmartSim-style driver and simulation run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DRIVER = Path(__file__).resolve().parents[3] / "examples" / "smartredis" / "python" / "driver.py"


def test_driver_and_simulation(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SS", "SR_", "SIMDASK_"))}
    environment["SR_LOG_LEVEL"] = "INFO"
    done = subprocess.run(
        [sys.executable, str(DRIVER), "--steps", "3"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert [line for line in lines if line.startswith("step ")] == [
        "step 0: max 0.999 K",
        "step 1: max 0.606 K",
        "step 2: max 0.367 K",
    ]
    assert any(line.startswith("simulation@") and line.endswith("step 2: min 0.000 max 0.367") for line in lines)
    assert lines[-1] == "last step as xarray: dims ('y', 'x'), units K, shape (16, 32)"
