"""The online-training example runs as a user would run it, and the surrogate improves."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python" / "03_online_training.py"


def test_online_training_example():
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = [(int(v), float(e)) for v, e in re.findall(r"surrogate v(\d+) mean error ([\d.]+)", done.stdout)]
    assert len(steps) >= 2, done.stdout
    (first_version, first_error), (last_version, last_error) = steps[0], steps[-1]
    assert last_version > first_version  # the simulation's run_model used newer versions as they came
    assert last_error < first_error  # and they predicted better
    assert re.search(r"training published \d+ model versions", done.stdout)
