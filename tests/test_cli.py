"""The simdask command: store start/status/stop in separate processes, and the demo."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import simdask


def simdask_cli(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simdask", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_store_start_status_stop(tmp_path):
    run_dir = tmp_path / "store"
    started = simdask_cli("store", "start", "--run-dir", str(run_dir))
    assert started.returncode == 0, started.stderr
    assert started.stdout.count("\n") == 1 and started.stdout.startswith("export SIMDASK_ADDRESS=")  # eval-able
    address = started.stdout.split("export SIMDASK_ADDRESS=")[1].strip()
    try:
        client = simdask.Client(address)  # the store outlived the command that started it
        client.put_tensor("u", np.ones(3))
        status = simdask_cli("store", "status", "--run-dir", str(run_dir))
        assert status.returncode == 0 and "running" in status.stdout and address in status.stdout
    finally:
        stopped = simdask_cli("store", "stop", "--run-dir", str(run_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert f"simdask store at {address} stopped" in stopped.stdout
    status = simdask_cli("store", "status", "--run-dir", str(run_dir))
    assert status.returncode == 1 and "no store state" in status.stderr


def test_cluster_from_the_command_line(tmp_path):
    started = simdask_cli("store", "start", "--kind", "cluster", "--run-dir", str(tmp_path))
    assert started.returncode == 0, started.stderr
    try:
        address = started.stdout.split("export SIMDASK_ADDRESS=")[1].strip()
        assert simdask.Client(address).is_cluster
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path)).returncode == 0


def test_start_errors_are_reported_not_raised(tmp_path):
    env = dict(os.environ, SIMDASK_SERVER_BIN=str(tmp_path / "missing"))
    result = simdask_cli("store", "start", "--run-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "simdask store: error: the store server binary named by SIMDASK_SERVER_BIN does not exist" in result.stderr


def test_demo_runs_end_to_end(tmp_path):
    result = simdask_cli("demo", "--size", "64", "--steps", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for expected in ("started a standalone store", "identical=True", "64 MiB tensor", "training_samples",
                     "KeyNotFoundError", "total heat per step", "run_model('diffusion_step')", "store stopped"):
        assert expected in result.stdout
    error = float(result.stdout.split("max |model - numpy step| = ")[1].split()[0])
    assert error < 1e-5  # the stored model computed the same diffusion step as numpy
