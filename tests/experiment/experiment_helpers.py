"""Helpers of the experiment tests: the application they launch, process and Slurm queue checks."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import psutil
import pytest

APP = Path(__file__).with_name("app.py")
# (not importorskip: importing dask_jobqueue 0.9.0 would take over this process's Ctrl-C handler)
needs_jobqueue = pytest.mark.skipif(
    find_spec("dask_jobqueue") is None, reason="dask-jobqueue is not installed: pip install 'simdask[jobqueue]'"
)


def app(*args: object) -> tuple[str, list[str]]:
    """``exe, args`` of the test application (run by this venv's python)."""
    return sys.executable, [str(APP), *map(str, args)]


def alive(pids: list[int]) -> list[int]:
    """The processes of ``pids`` still running (zombies count as gone)."""
    left = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                left.append(pid)
        except psutil.NoSuchProcess:
            pass
    return left


def descendants(at_least: int = 0, *, besides: Sequence[int] = (), timeout: float = 20.0) -> list[int]:
    """This process's descendants not in ``besides`` (e.g. session stores), once there are ``at_least`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        pids = [p.pid for p in psutil.Process().children(recursive=True) if p.pid not in besides]
        if len(pids) >= at_least or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


def squeue_left(timeout: float = 20.0) -> list[str]:
    """Jobs Slurm still has pending, running or completing, after waiting up to ``timeout`` for them to go."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(["squeue", "-h", "-o", "%i %T %j"], capture_output=True, text=True).stdout
        jobs = out.split("\n") if out.strip() else []
        if not jobs or time.monotonic() > deadline:
            return [j for j in jobs if j]
        time.sleep(0.2)
