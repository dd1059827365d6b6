"""The simdask command: store start/status/stop in separate processes, and the demo."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import psutil

import simdask
from simdask.transport import credentials_file, parse_addresses


def exported_address(started: subprocess.CompletedProcess) -> str:
    """The address of ``simdask store start``'s first export line."""
    return started.stdout.splitlines()[0].removeprefix("export SIMDASK_ADDRESS=")


def simdask_cli(*args: str, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simdask", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_store_start_status_stop(tmp_path):
    run_dir = tmp_path / "store"
    started = simdask_cli("store", "start", "--run-dir", str(run_dir))
    assert started.returncode == 0, started.stderr
    lines = started.stdout.splitlines()  # eval-able; the password itself stays in its file
    assert lines[0].startswith("export SIMDASK_ADDRESS=")
    assert lines[1:] == [f'export SIMDASK_PASSWORD="$(cat {run_dir}/password)"']
    address = exported_address(started)
    credentials = credentials_file(parse_addresses(address)[0])
    try:
        # the store outlived the command that started it; this user's clients find its password
        assert credentials.read_text() == (run_dir / "password").read_text() + "\n"
        client = simdask.Client(address)
        client.put_tensor("u", np.ones(3))
        status = simdask_cli("store", "status", "--run-dir", str(run_dir))
        assert status.returncode == 0 and "running" in status.stdout and address in status.stdout
    finally:
        stopped = simdask_cli("store", "stop", "--run-dir", str(run_dir))
    assert stopped.returncode == 0, stopped.stderr
    assert f"simdask store at {address} stopped" in stopped.stdout
    assert not credentials.exists()
    status = simdask_cli("store", "status", "--run-dir", str(run_dir))
    assert status.returncode == 1 and "no store state" in status.stderr


def test_second_start_in_the_same_run_dir_is_refused(tmp_path):
    first = simdask_cli("store", "start", "--run-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    address = exported_address(first)
    try:
        second = simdask_cli("store", "start", "--run-dir", str(tmp_path))
        assert second.returncode == 1 and f"a store already runs in {tmp_path}" in second.stderr
        assert f"at {address}" in second.stderr
        simdask.Client(address).put_tensor("u", np.ones(1))  # the first one is untouched, not orphaned
        assert simdask.Store.from_run_dir(tmp_path).address == address
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path)).returncode == 0


def test_store_off_loopback_keeps_its_password_off_the_output(tmp_path, non_loopback_ipv4):
    host = non_loopback_ipv4
    env = {k: v for k, v in os.environ.items() if k != "SIMDASK_PASSWORD"}
    started = simdask_cli("store", "start", "--host", host, "--run-dir", str(tmp_path), env=env)
    assert started.returncode == 0, started.stderr
    try:
        password = (tmp_path / "password").read_text()
        assert password not in started.stdout + started.stderr
        assert started.stdout.splitlines()[1] == f'export SIMDASK_PASSWORD="$(cat {tmp_path}/password)"'
        state = simdask.Store.from_run_dir(tmp_path)
        assert password not in " ".join(psutil.Process(state.servers[0].pid).cmdline())
        check = "eval \"$1\"; python -c \"import simdask; simdask.Client().put_tensor('u', [1.0]); print('ok')\""
        shell = subprocess.run(
            ["bash", "-c", check, "bash", started.stdout],
            env=dict(env, PATH=os.path.dirname(sys.executable) + ":" + env["PATH"]),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.stdout.strip() == "ok", shell.stderr  # `eval "$(simdask store start)"` gives both variables
        status = simdask_cli("store", "status", "--run-dir", str(tmp_path), env=env)
        assert status.returncode == 0 and password not in status.stdout + status.stderr
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path), env=env).returncode == 0
    assert not (tmp_path / "password").exists()


def test_cluster_from_the_command_line(tmp_path):
    started = simdask_cli("store", "start", "--kind", "cluster", "--run-dir", str(tmp_path))
    assert started.returncode == 0, started.stderr
    try:
        address = exported_address(started)
        assert simdask.Client(address).is_cluster
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path)).returncode == 0


def test_store_without_password(tmp_path, non_loopback_ipv4):
    env = dict(os.environ, SIMDASK_PASSWORD="ignored")
    started = simdask_cli("store", "start", "--no-password", "--run-dir", str(tmp_path), env=env)
    assert started.returncode == 0, started.stderr
    try:
        assert started.stdout.count("\n") == 1 and not (tmp_path / "password").exists()
        simdask.Client(exported_address(started), password="").put_tensor("u", np.ones(1))
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path)).returncode == 0
    refused = simdask_cli("store", "start", "--no-password", "--host", non_loopback_ipv4, "--run-dir", str(tmp_path))
    assert refused.returncode == 1 and "needs a password" in refused.stderr


def test_start_errors_are_reported_not_raised(tmp_path):
    env = dict(os.environ, SIMDASK_SERVER_BIN=str(tmp_path / "missing"))
    result = simdask_cli("store", "start", "--run-dir", str(tmp_path), env=env)
    assert result.returncode == 1
    assert "simdask store: error: the store server binary named by SIMDASK_SERVER_BIN does not exist" in result.stderr


def test_demo_runs_end_to_end(tmp_path):
    result = simdask_cli("demo", "--size", "64", "--steps", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for expected in (
        "started a standalone store",
        "identical=True",
        "64 MiB tensor",
        "training_samples",
        "KeyNotFoundError",
        "total heat per step",
        "run_model('diffusion_step')",
        "store stopped",
    ):
        assert expected in result.stdout
    error = float(result.stdout.split("max |model - numpy step| = ")[1].split()[0])
    assert error < 1e-5  # the stored model computed the same diffusion step as numpy


def _foreground(run_dir) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simdask", "store", "start", "--foreground", "--run-dir", str(run_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().startswith("export SIMDASK_ADDRESS=")
    return proc


def test_foreground_store_stops_on_sigterm_and_ends_when_its_server_dies(tmp_path):
    proc = _foreground(tmp_path / "a")
    proc.send_signal(15)
    proc.send_signal(15)  # a job being stopped gets it twice: to its process group and to each process
    assert proc.wait(timeout=20) == 0
    assert "simdask store stopped" in proc.stderr.read()
    proc = _foreground(tmp_path / "b")
    os.kill(simdask.Store.from_run_dir(tmp_path / "b").servers[0].pid, 9)
    assert proc.wait(timeout=20) == 1  # the store job fails instead of waiting forever
    assert "exited" in proc.stderr.read()


def test_version_keys_and_get(standalone_store):
    store = standalone_store
    version = simdask_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"simdask {simdask.__version__}"
    client = simdask.Client(store.address)
    client.put_tensor("cli_u_1", np.arange(6, dtype=np.int32).reshape(2, 3), dims=("y", "x"), attrs={"units": "m"})
    client.put_tensor("cli_u_2", np.zeros(2000))
    env = {**os.environ, "SIMDASK_ADDRESS": store.address}
    listed = simdask_cli("keys", "cli_u_*", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["cli_u_1", "cli_u_2"]
    got = simdask_cli("get", "cli_u_1", env=env)
    assert got.returncode == 0, got.stderr
    lines = got.stdout.splitlines()
    assert lines[0] == "cli_u_1: int32 (2, 3) order C dims=y/x"
    assert lines[1] == "attrs: {'units': 'm'}"
    assert lines[2:] == ["[[0 1 2]", " [3 4 5]]"]
    summarized, full = simdask_cli("get", "cli_u_2", env=env), simdask_cli("get", "cli_u_2", "--full", env=env)
    assert "..." in summarized.stdout and "..." not in full.stdout
    missing = simdask_cli("get", "cli_nothing", env=env)
    assert missing.returncode == 1 and "cli_nothing" in missing.stderr
