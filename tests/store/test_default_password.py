"""Every store simdask starts is closed to other local users: a password by default, found by its own user's
clients in their credentials files, unknown to every other account (which can connect to any TCP port)."""

from __future__ import annotations

import json
import logging
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

import simdask
from simdask.errors import AuthenticationError
from simdask.store.files import write_private
from simdask.transport import Address, credentials_file, parse_addresses

WHERE_PASSWORDS_COME_FROM = "SIMDASK_PASSWORD, or connect as the user who started the store"
ORPHAN_BOUND = 15.0  # seconds: store.shutdown-timeout (10) + the watchdog's SIGKILL wait (5)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def creds(tmp_path, monkeypatch) -> Path:
    """An empty credentials folder of this test's own (two levels that do not exist yet), no SIMDASK_PASSWORD."""
    folder = tmp_path / "home" / "credentials"
    monkeypatch.setenv("SIMDASK_CREDENTIALS_DIR", str(folder))
    monkeypatch.delenv("SIMDASK_PASSWORD", raising=False)
    return folder


@pytest.mark.parametrize("kind", ["standalone", "unix", "cluster"])
def test_a_default_store_has_a_password_that_its_users_clients_find(creds, kind):
    old = os.umask(0)  # the files' modes must not depend on it
    try:
        store = simdask.Store(kind).start()
    finally:
        os.umask(old)
    with store:
        password = store.password
        assert password and len(password) >= 40
        files = store.credentials_files
        assert len(files) == store.shards and {f.parent for f in files} == {creds}
        assert mode(creds) == 0o700 and mode(creds.parent) == 0o700
        for path in files:
            assert mode(path) == 0o600 and path.read_text() == password + "\n"
        with simdask.Client(store.address) as client:  # no password given, none in the environment
            client.put_tensor("u", np.arange(3))
            assert client.session.options.password_file in {str(f) for f in files}
        last = str(store.servers[-1].address)  # a cluster's clients find it from any one node
        np.testing.assert_array_equal(simdask.Client(last).get_tensor("u"), np.arange(3))
        with pytest.raises(AuthenticationError, match=WHERE_PASSWORDS_COME_FROM):
            simdask.Client(store.address, password="").get_tensor("u")  # none sent: refused
        with pytest.raises(AuthenticationError, match="refused the password"):
            simdask.Client(store.address, password="guess").get_tensor("u")
    assert not any(path.exists() for path in files)


def test_the_password_is_in_no_log_state_or_command_line(creds, tmp_path):
    with simdask.Store("cluster", run_dir=tmp_path / "run") as store:
        password = store.password
        for path in (tmp_path / "run").rglob("*"):
            if path.is_file() and path.name not in ("password", "server.conf"):  # both 0600
                assert password not in path.read_text(errors="replace"), path
        for pid in [s.pid for s in store.servers] + [store._watchdog.pid]:
            assert password not in " ".join(psutil.Process(pid).cmdline()), pid
        assert password not in repr(store) and password not in store.address


def test_empty_password_opens_a_loopback_store_only(creds, non_loopback_ipv4):
    for kind in ("standalone", "unix"):
        with simdask.Store(kind, password="") as store:
            assert store.password is None and store.password_file is None and store.credentials_files == []
            assert not creds.exists() or not any(creds.iterdir())
            simdask.Client(store.address).put_tensor("u", np.ones(1))  # no password needed
            assert store.env == {"SIMDASK_ADDRESS": store.address}
    with pytest.raises(ValueError, match="needs a password"):
        simdask.Store(host=non_loopback_ipv4, password="")


def test_a_store_off_loopback_is_found_through_its_plain_address(creds, non_loopback_ipv4):
    with simdask.Store(host=non_loopback_ipv4) as store:
        assert store.address.startswith(f"{non_loopback_ipv4}:")
        simdask.Client(store.address).put_tensor("u", np.ones(1))


def test_stale_and_foreign_credentials_files(creds):
    with simdask.Store(password="") as open_store:  # a file left for an address now served without a password
        path = credentials_file(parse_addresses(open_store.address)[0])
        creds.mkdir(parents=True)
        write_private(path, "stale-password\n")
        simdask.Client(open_store.address).put_tensor("u", np.ones(1))  # used without it
        with pytest.raises(AuthenticationError):  # an explicit password is never dropped
            simdask.Client(open_store.address, password="stale-password")
    with simdask.Store() as store:
        path = store.credentials_files[0]
        write_private(path, "another-store's\n")
        with pytest.raises(AuthenticationError, match=f"credentials file {path}"):
            simdask.Client(store.address)
        simdask.Client(store.address, password=store.password).put_tensor("u", np.ones(1))


def test_resolution_order(creds, monkeypatch):
    with simdask.Store() as store:
        monkeypatch.setenv("SIMDASK_PASSWORD", "wrong")  # the variable wins over the file
        with pytest.raises(AuthenticationError):
            simdask.Client(store.address)
        simdask.Client(store.address, password=store.password).put_tensor("u", np.ones(1))  # the argument wins
        monkeypatch.setenv("SIMDASK_PASSWORD", "")  # empty: unset
        simdask.Client(store.address).put_tensor("u", np.ones(1))


def test_files_others_could_touch_are_not_trusted(creds, tmp_path, caplog):
    with simdask.Store() as store:
        path = store.credentials_files[0]
        path.chmod(0o640)
        with caplog.at_level(logging.WARNING, "simdask.transport"), pytest.raises(AuthenticationError):
            simdask.Client(store.address)
        assert f"ignoring the credentials file {path}" in caplog.text
        path.unlink()
        (tmp_path / "elsewhere").write_text(store.password)
        (tmp_path / "elsewhere").chmod(0o600)
        path.symlink_to(tmp_path / "elsewhere")
        with pytest.raises(AuthenticationError):
            simdask.Client(store.address)


def _owner_dies(creds: Path, kill_watchdog: bool) -> tuple[Path, Path]:
    """A child process starts a store and is killed (its watchdog first, if asked): (run dir, credentials file)."""
    code = (
        "import simdask, time; s = simdask.Store().start(); "
        "print(s._watchdog.pid, s.run_dir, s.credentials_files[0], flush=True); time.sleep(600)"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    watchdog, run_dir, path = child.stdout.readline().split()
    assert Path(path).parent == creds and Path(path).exists()
    if kill_watchdog:
        os.kill(int(watchdog), signal.SIGKILL)
        _wait_until(lambda: _gone(int(watchdog)), 5)
    child.kill()
    child.wait(10)
    return Path(run_dir), Path(path)


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie its parent has not reaped yet counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_until(condition, timeout: float) -> None:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, f"not within {timeout} s"
        time.sleep(0.02)


def test_a_dead_owners_credentials_files_go(creds, tmp_path, monkeypatch):
    # a temporary folder of this test's own: other processes starting stores would clean up too
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    run_dir, path = _owner_dies(creds, kill_watchdog=False)  # its watchdog removes them
    _wait_until(lambda: not path.exists() and not run_dir.exists(), ORPHAN_BOUND)
    run_dir, path = _owner_dies(creds, kill_watchdog=True)  # nobody cleaned up: the next reap does
    assert path.exists()
    assert simdask.store.reap_stale_stores(tmp_path) == [run_dir]
    assert not path.exists()


# -- another account of the node ---------------------------------------------------------------------------


def _as_account(name: str, attempt, *args) -> dict:
    """``attempt(*args)`` in a forked child that has become the account ``name``; the dict it returns."""
    account = pwd.getpwnam(name)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop every privilege, try, report, never return into pytest
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(account.pw_gid)
            os.setuid(account.pw_uid)
            result = attempt(*args)
        except BaseException as exc:  # noqa: BLE001
            result = {"error": repr(exc)}
        try:
            os.write(write_end, json.dumps(result).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def _resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _attack(address: str, key: str, credentials: str) -> dict:
    """What another account tries: read the owner's credentials file, GET and SET ``key`` (plain RESP)."""
    result: dict = {"uid": os.getuid()}
    try:
        with open(credentials) as f:
            result["credentials"] = f.read()
    except OSError as exc:
        result["credentials"] = type(exc).__name__
    server = parse_addresses(address)[0]
    if server.is_unix:
        sock = socket.socket(socket.AF_UNIX)
        target: object = server.path
    else:
        sock = socket.socket(socket.AF_INET)
        target = (server.host, server.port)
    sock.settimeout(5)
    try:
        sock.connect(target)
    except OSError as exc:
        result["replies"] = type(exc).__name__
        return result
    with sock:
        sock.sendall(_resp(b"GET", key.encode()) + _resp(b"SET", key.encode(), b"stolen"))
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    result["replies"] = data.decode(errors="replace").splitlines()
    return result


@pytest.mark.skipif(os.getuid() != 0, reason="only root can act as another account (CI runs the tests as root)")
@pytest.mark.parametrize("kind", ["standalone", "unix"])
def test_another_account_can_neither_read_nor_write_a_default_store(creds, kind):
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("this machine has no 'nobody' account to act as")
    with simdask.Store(kind) as store, simdask.Client(store.address) as client:
        client.put_tensor("secret", np.arange(4.0))
        key = client.tensor_key("secret")
        result = _as_account("nobody", _attack, store.address, key, str(store.credentials_files[0]))
        assert result.get("uid") == pwd.getpwnam("nobody").pw_uid, result
        assert result["credentials"] == "PermissionError", result
        if kind == "unix":  # the socket is the owner's only: no connection at all
            assert result["replies"] == "PermissionError", result
        else:  # loopback TCP is open to every account: the server refuses both commands
            assert [line.split()[0] for line in result["replies"]] == ["-NOAUTH", "-NOAUTH"], result
        np.testing.assert_array_equal(client.get_tensor("secret"), np.arange(4.0))


def test_address_text_names_the_file():
    """The file name is FNV-1a 64 of the address as written (after the host name for node-local ones):
    what the C client computes too (tests/client_c/test_c_credentials.py connects through it)."""
    from simdask.transport.credentials import credentials_name, fnv1a64

    assert credentials_name(Address(host="10.0.0.5", port=6379)) == f"{fnv1a64(b'10.0.0.5:6379'):016x}"
    here = socket.gethostname()
    for address, text in (
        (Address(host="127.0.0.1", port=6379), "127.0.0.1:6379"),
        (Address(host="::1", port=1), "[::1]:1"),
        (Address(path="/s.sock"), "unix:///s.sock"),
    ):
        assert credentials_name(address) == f"{fnv1a64(f'{here} {text}'.encode()):016x}"
