"""A store's secrets and its life, on real servers: a password (off loopback too), owner-only files, no orphans.

Bounds used below: a store whose owner died is gone within
``store.shutdown-timeout`` (10 s) + 5 s (the watchdog's SIGTERM, then
SIGKILL); in practice well under a second.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

import simdask
from simdask.errors import AuthenticationError, StoreError

ORPHAN_BOUND = 15.0  # seconds: store.shutdown-timeout (10) + the watchdog's SIGKILL wait (5)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(condition, timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - start


@pytest.fixture
def no_password_env(monkeypatch):
    monkeypatch.delenv("SIMDASK_PASSWORD", raising=False)


def test_store_off_loopback_gets_a_password_and_starts(tmp_path, no_password_env, non_loopback_ipv4):
    host = non_loopback_ipv4
    run_dir = tmp_path / "run"
    start = time.monotonic()
    store = simdask.Store(host=host, run_dir=run_dir).start()
    try:
        assert time.monotonic() - start < 10  # it used to wait out the 30 s deadline, refused by protected mode
        password = store.password
        assert password and len(password) >= 40 and store.address.startswith(f"{host}:")
        with pytest.raises(AuthenticationError):  # a client without it (another machine, another account)
            simdask.Client(store.address, password="")
        with pytest.raises(AuthenticationError):
            simdask.Client(store.address, password="guess")
        with simdask.Client(store.address, password=password) as client:
            client.put_tensor("u", np.arange(3))
            np.testing.assert_array_equal(client.get_tensor("u"), np.arange(3))
        assert store.password_file == run_dir / "password" and mode(store.password_file) == 0o600
        assert store.password_file.read_text() == password
        assert store.env == {"SIMDASK_ADDRESS": store.address, "SIMDASK_PASSWORD": password}
        again = simdask.Store.from_run_dir(run_dir)  # another process finds it through the password file
        assert again.password == password and again.is_running()
        for path in run_dir.iterdir():
            if path.name not in ("password", "server.conf"):  # both 0600
                assert password not in path.read_text(errors="replace"), path
        assert mode(run_dir / "server.conf") == 0o600
        for pid in (store.servers[0].pid, store._watchdog.pid):
            assert password not in " ".join(psutil.Process(pid).cmdline())
    finally:
        store.stop()
    assert not (run_dir / "password").exists() and not (run_dir / "store.json").exists()


def test_loopback_store_has_no_password_only_when_asked(no_password_env):
    with simdask.Store(password="") as store:
        assert store.password is None and store.password_file is None
        assert not (store.run_dir / "password").exists()
        simdask.Client(store.address).put_tensor("u", np.ones(1))  # no password needed


def test_files_are_owner_only_whatever_the_umask(tmp_path):
    run_dir = tmp_path / "new" / "run"
    run_dir.parent.mkdir()
    old = os.umask(0)
    try:
        (tmp_path / "loose").mkdir()
        stale = tmp_path / "loose" / "server.conf"
        stale.write_text("left by someone\n")
        stale.chmod(0o644)
        with simdask.Store(run_dir=run_dir, password="s3cret") as store:
            assert mode(run_dir) == 0o700
            for name in ("server.conf", "store.json", "password"):
                assert mode(run_dir / name) == 0o600, name
        with simdask.Store(run_dir=tmp_path / "loose") as store:
            assert mode(stale) == 0o600  # replaced by a file created 0600, not rewritten in place
        with simdask.Store("unix") as store:
            assert mode(store.run_dir) == 0o700
            sock = Path(store.address.removeprefix("unix://"))
            assert stat.S_ISSOCK(sock.stat().st_mode) and mode(sock) & 0o077 == 0
            assert "unixsocketperm 700" in (store.run_dir / "server.conf").read_text()
    finally:
        os.umask(old)


def test_config_values_cannot_add_directives(tmp_path):
    with pytest.raises(ValueError, match="setting maxmemory"):
        simdask.Store(run_dir=tmp_path / "a", server_config={"maxmemory": "1mb\nrequirepass x"}).start()
    with pytest.raises(ValueError, match="run directory"):
        simdask.Store(run_dir=tmp_path / 'b"\nrequirepass "x').start()
    with pytest.raises(ValueError, match="password"):
        simdask.Store(password="a\nb")


def test_second_start_in_a_live_run_dir_is_refused(tmp_path):
    first = simdask.Store(run_dir=tmp_path).start()
    try:
        with pytest.raises(StoreError, match=f"a store already runs in {tmp_path} .*owned by process {os.getpid()}"):
            simdask.Store(run_dir=tmp_path).start()
        assert first.is_running() and simdask.Store.from_run_dir(tmp_path).address == first.address
    finally:
        first.stop()
    detached = simdask.Store(run_dir=tmp_path).start(detach=True)
    try:
        with pytest.raises(StoreError, match=r"\(at [0-9.:]+, detached\); stop it first with `simdask store stop "):
            simdask.Store(run_dir=tmp_path).start()
        detached.servers[0].kill()  # it died: its run directory is free again
        with simdask.Store(run_dir=tmp_path) as second:
            assert second.is_running() and second.address != detached.address
    finally:
        detached.stop()


def _child_store(env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int, int, Path]:
    """A Python process that starts a store and sleeps: (process, server pid, watchdog pid, run dir)."""
    code = (
        "import simdask, time; s = simdask.Store().start(); "
        "print(s.servers[0].pid, s._watchdog.pid, s.run_dir, flush=True); time.sleep(600)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
    server, watchdog, run_dir = child.stdout.readline().split()
    return child, int(server), int(watchdog), Path(run_dir)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_store_dies_with_its_owner(sig):
    child, server, watchdog, run_dir = _child_store()
    assert not gone(server) and run_dir.is_dir()
    child.send_signal(sig)
    child.wait(10)
    took = wait_until(lambda: gone(server) and gone(watchdog) and not run_dir.exists(), ORPHAN_BOUND)
    assert took < ORPHAN_BOUND


def test_next_store_command_cleans_up_after_owner_and_watchdog(tmp_path, monkeypatch):
    # a temporary folder of this test's own: other processes starting stores would clean up too
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    mine = simdask.Store().start()  # its owner (this process) is alive: never touched
    try:
        child, server, watchdog, run_dir = _child_store(dict(os.environ))
        assert run_dir.parent == tmp_path
        os.kill(watchdog, signal.SIGKILL)  # nothing left to clean up after the owner...
        wait_until(lambda: gone(watchdog), 5)
        child.kill()
        child.wait(10)
        time.sleep(0.5)
        assert not gone(server) and run_dir.is_dir()  # ...so the server is an orphan
        status = subprocess.run(
            [sys.executable, "-m", "simdask", "store", "status", "--run-dir", str(tmp_path / "x")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "no store state" in status.stderr
        wait_until(lambda: gone(server) and not run_dir.exists(), ORPHAN_BOUND)
        assert mine.is_running() and mine.run_dir.is_dir() and mine.run_dir.parent == tmp_path
    finally:
        mine.stop()


def test_store_started_in_a_thread_outlives_the_thread():
    started: list[simdask.Store] = []
    thread = threading.Thread(target=lambda: started.append(simdask.Store().start()))
    thread.start()
    thread.join()
    store = started[0]
    try:
        time.sleep(0.3)
        assert store.is_running()  # not tied to the thread that started it (as PR_SET_PDEATHSIG would be)
    finally:
        store.stop()
    assert not store.run_dir.exists()


def test_stores_of_other_nodes_are_never_touched(tmp_path):
    """A TMPDIR or run directory on a shared file system: pids of another node mean nothing here."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    state = (
        '{"state": "ready", "kind": "standalone", "temporary": true, "node": "%s", '
        '"owner": {"pid": %s, "started": 1.0}, "servers": []}'
    )
    for name, node in (("simdask-store-other", "some-other-node"), ("simdask-store-here", socket.gethostname())):
        (tmp_path / name).mkdir(mode=0o700)
        (tmp_path / name / "store.json").write_text(state % (node, dead.stdout.strip()))
    assert simdask.store.reap_stale_stores(tmp_path) == [tmp_path / "simdask-store-here"]  # its owner died
    assert (tmp_path / "simdask-store-other" / "store.json").exists()
    with pytest.raises(StoreError, match="a store already runs in"):
        simdask.Store(run_dir=tmp_path / "simdask-store-other").start()
