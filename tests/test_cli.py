"""The simdask command: store start/status/stop in separate processes (the demo: tests/demo/)."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys

import numpy as np
import psutil
import pytest

import simdask
from simdask.cli import build_parser
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
        assert second.returncode == 1 and second.stdout == ""
        assert second.stderr.splitlines() == [
            f"simdask store: error: a store already runs in {tmp_path} (at {address}, detached); stop it first "
            f"with `simdask store stop --run-dir {tmp_path}`, or use another run directory"
        ]
        simdask.Client(address).put_tensor("u", np.ones(1))  # the first one is untouched, not orphaned
        assert simdask.Store.from_run_dir(tmp_path).address == address
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path)).returncode == 0


def test_starts_at_once_in_one_run_dir_leave_one_store(tmp_path):
    command = [sys.executable, "-m", "simdask", "store", "start", "--run-dir", str(tmp_path)]
    starts = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(proc.wait(timeout=120), *proc.communicate()) for proc in starts]
    try:
        assert sorted(code for code, _, _ in results) == [0, 1, 1], results
        (out,) = [out for code, out, _ in results if code == 0]
        address = out.splitlines()[0].removeprefix("export SIMDASK_ADDRESS=")
        assert all("a store already runs in" in err for code, _, err in results if code == 1)
        assert simdask.Store.from_run_dir(tmp_path).address == address
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path)).returncode == 0
    # no server of this run directory is left: not one started by a start that lost
    assert not [p for p in psutil.process_iter(["cwd", "name"]) if p.info["cwd"] == str(tmp_path)]


def test_a_start_cleans_up_after_a_store_that_died(tmp_path):
    first = simdask_cli("store", "start", "--run-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    old = exported_address(first)
    credentials = credentials_file(parse_addresses(old)[0])
    os.kill(simdask.Store.from_run_dir(tmp_path).servers[0].pid, 9)
    second = simdask_cli("store", "start", "--run-dir", str(tmp_path))
    try:
        assert second.returncode == 0, second.stderr
        assert simdask.Store.from_run_dir(tmp_path).address == exported_address(second)
        assert exported_address(second) == old or not credentials.exists()  # the dead store's password is gone
    finally:
        assert simdask_cli("store", "stop", "--run-dir", str(tmp_path)).returncode == 0


def test_status_shows_memory_keys_and_serving_loops(tmp_path):
    started = simdask_cli("store", "start", "--serve", "1", "--run-dir", str(tmp_path))
    assert started.returncode == 0, started.stderr
    address = exported_address(started)
    try:
        before = simdask_cli("store", "status", "--run-dir", str(tmp_path))
        assert before.returncode == 0, before.stderr
        with simdask.Client(address) as client:
            client.put_tensor("status_u", np.zeros(100_000))  # 800 kB
            client.put_tensor("status_v", np.zeros(1))
        after = simdask_cli("store", "status", "--run-dir", str(tmp_path))
        server_lines = [
            re.fullmatch(rf"{re.escape(address)}  pid \d+  running  memory ([\d.]+)([KMG])  keys (\d+)", line)
            for line in (before.stdout.splitlines()[0], after.stdout.splitlines()[0])
        ]
        assert all(server_lines), before.stdout + after.stdout
        (m0, u0, k0), (m1, u1, k1) = (m.groups() for m in server_lines if m)
        megabytes = [float(m) * {"K": 1e-3, "M": 1, "G": 1e3}[u] for m, u in ((m0, u0), (m1, u1))]
        assert int(k1) == int(k0) + 2 and megabytes[1] > megabytes[0] + 0.7
        lines = after.stdout.splitlines()
        assert re.fullmatch(r"serving loops: 1  pid \d+  running", lines[1])
        assert lines[2] == "serving loops with a lease: 1"
        assert re.fullmatch(r"  store-[0-9a-f]+-0  \(has answered nothing yet\)", lines[3])
        assert lines[4:] == [f"store {address}: running"]
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


@pytest.mark.parametrize("how", [["--workers", "2"], ["--threads", "2"]], ids=["dask", "threads"])
def test_serve_stops_on_the_first_ctrl_c_with_one_line(standalone_store, how):
    serve = subprocess.Popen(
        [sys.executable, "-m", "simdask", "serve", *how],
        env={**os.environ, "SIMDASK_ADDRESS": standalone_store.address},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        ready = serve.stdout.readline()
        assert ready.startswith("simdask serve: 2 serving loops"), ready + serve.stderr.read()
        os.killpg(serve.pid, signal.SIGINT)  # what Ctrl-C does: every process of the group gets it
        out, err = serve.communicate(timeout=20)  # it took 30 s with 105 lines of tracebacks; ~2 s now (20: load)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    assert (serve.returncode, out, err) == (130, "simdask serve: interrupted; served 0 requests\n", "")
    group = [p for p in psutil.process_iter() if _session_of(p) == serve.pid]
    assert not psutil.wait_procs(group, timeout=5)[1]  # nothing it started outlives it (zombies are gone already)


def _session_of(proc: psutil.Process) -> int | None:
    try:
        return os.getsid(proc.pid) if proc.status() != psutil.STATUS_ZOMBIE else None
    except (OSError, psutil.Error):
        return None


def test_help_texts_have_no_markup():
    def helps(parser: argparse.ArgumentParser, path: tuple[str, ...]):
        yield path, parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from helps(sub, (*path, name))

    texts = dict(helps(build_parser(), ("simdask",)))
    assert {"simdask store start", "simdask serve", "simdask runs prune", "simdask get"} <= {" ".join(p) for p in texts}
    for path, text in texts.items():
        assert not re.search(r"``|:[a-z]+:`|\.\. [a-z]+::", text), f"{' '.join(path)} --help:\n{text}"
    shown = simdask_cli("store", "status", "--help")
    assert shown.returncode == 0 and shown.stdout == texts[("simdask", "store", "status")]
