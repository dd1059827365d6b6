"""The bridge's examples run as a user would run them, and say what they should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


def _run(name: str) -> str:
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("01_xarray_bridge.py", ["time-mean of u", "the simulation polls: True ('x',)", "kept as zarr: {'step': 4"]),
        ("02_watch_a_run.py", ["step 0: mean u = 1.0", "step 7: mean u = 8.0", "the run ended after 8 steps"]),
    ],
)
def test_example(name, expected):
    out = _run(name)
    for text in expected:
        assert text in out
