"""A store's state file, ``store.json``: who owns a run directory, its servers, whether it is ready.

A store writes it (0600, atomically) when it claims its run directory, again
once its servers are spawned, and once it is ready. Other processes read it
to find the store again (``simdask store status|stop``, an experiment waiting
for its store), to refuse a second store in a run directory in use, and to
find the temporary run directories of owners that died and clean them up.
The owner is a pid and that process's start time, so a recycled pid is not
mistaken for it; a detached store has no owner. The node's name is
recorded too: pids of another node (a run directory or ``TMPDIR`` on a
shared file system) say nothing here, so such a store is left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from .. import env
from ..errors import StoreStartError
from ..transport import Address, credentials_dir, credentials_file
from ..transport.credentials import read_password
from .files import private_dir, write_private
from .server import ServerConfig, ServerProcess
from .service import ServingProcess

__all__ = [
    "PASSWORD_FILE",
    "STATE_FILE",
    "TEMP_PREFIX",
    "Owner",
    "clean_orphan",
    "clear_state",
    "in_use",
    "read_state",
    "reap_stale_stores",
    "remove_credentials",
    "server_processes",
    "this_node",
    "write_credentials",
    "write_state",
]

STATE_FILE = "store.json"
PASSWORD_FILE = "password"
TEMP_PREFIX = "simdask-store-"
_SAME_START = 0.01  # seconds: psutil derives start times from boot time + ticks, the same for one process


@dataclass(frozen=True)
class Owner:
    """The process that owns a (not detached) store."""

    pid: int
    started: float

    @classmethod
    def this_process(cls) -> Owner:
        return cls(os.getpid(), psutil.Process().create_time())

    def is_alive(self) -> bool:
        """Whether that very process still runs (not a later one with the same pid, not a zombie)."""
        try:
            proc = psutil.Process(self.pid)
            return abs(proc.create_time() - self.started) < _SAME_START and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


def this_node() -> str:
    """The name of this machine, as recorded in a state (pids mean nothing on another one)."""
    return socket.gethostname()


def write_state(run_dir: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (0600, atomically), with the name of this node."""
    write_private(run_dir / STATE_FILE, json.dumps({**state, "node": this_node()}, indent=2) + "\n")


def read_state(run_dir: Path) -> dict[str, Any] | None:
    """The state in ``run_dir``, or ``None`` (none, unreadable, not ours, not JSON)."""
    path = run_dir / STATE_FILE
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def clear_state(run_dir: Path) -> None:
    """Remove the state and the password file (the rest of a run directory given by the user stays)."""
    for name in (STATE_FILE, PASSWORD_FILE):
        (run_dir / name).unlink(missing_ok=True)


def write_credentials(addresses: list[Address], password: str) -> list[Path]:
    """Write ``password`` to the credentials file of each address (folders 0700, files 0600); their paths.

    Clients of this user find it there (:mod:`simdask.transport.credentials`).
    """
    try:
        private_dir(credentials_dir())
        paths = [credentials_file(address) for address in addresses]
        for path in paths:
            write_private(path, password + "\n")
    except (OSError, RuntimeError) as exc:
        raise StoreStartError(
            f"cannot write the store's credentials files ({exc}); set {env.CREDENTIALS_DIR} to a folder of yours"
        ) from None
    return paths


def remove_credentials(addresses: list[Address], password: str) -> None:
    """Remove the credentials files of ``addresses`` that hold ``password``.

    A file holding another password is a newer store's at the same address: it stays.
    """
    try:
        paths = [credentials_file(address) for address in addresses]
    except RuntimeError:
        return  # no home folder: none were written
    for path in paths:
        if read_password(path) == password:
            path.unlink(missing_ok=True)


def _state_addresses(state: dict[str, Any]) -> list[Address]:
    """The addresses of the servers a state lists."""
    return [
        Address(path=s["unix_socket"]) if s.get("unix_socket") else Address(host=s["host"], port=s["port"])
        for s in state.get("servers", [])
        if s.get("unix_socket") or (s.get("host") and s.get("port"))
    ]


def server_processes(state: dict[str, Any], password: str | None = None) -> list[ServerProcess]:
    """The servers a state lists, managed by their pids."""
    binary = Path(state.get("binary", ""))
    return [
        ServerProcess.from_pid(
            s["pid"],
            binary,
            ServerConfig(
                host=s["host"], port=s["port"], unix_socket=s["unix_socket"], password=password, node=s.get("node")
            ),
            Path(s["run_dir"]),
        )
        for s in state.get("servers", [])
        if s.get("pid")
    ]


def _owner(state: dict[str, Any]) -> Owner | None:
    owner = state.get("owner")
    return Owner(int(owner["pid"]), float(owner["started"])) if isinstance(owner, dict) else None


def in_use(state: dict[str, Any]) -> bool:
    """Whether a state's store is still someone's: its owner runs, or it is detached and a server runs.

    The servers of an owner that died are orphans: whoever finds them stops
    them. A store of another node (a run directory, or a ``TMPDIR``, on a
    shared file system) is someone's: its processes cannot be seen from here.
    """
    if state.get("node", this_node()) != this_node():
        return True
    owner = _owner(state)
    if owner is not None:
        return owner.is_alive()
    serving = ServingProcess.from_state(state["serving"]) if state.get("serving") else None
    return any(s.is_alive() for s in server_processes(state)) or (serving is not None and serving.is_alive())


def clean_orphan(run_dir: Path, state: dict[str, Any], timeout: float) -> None:
    """Stop the serving loops and the servers a store no one owns left running; remove its socket folder,
    state, password and credentials files (those that still hold its password)."""
    if state.get("serving"):
        ServingProcess.from_state(state["serving"]).stop(timeout=timeout)
    for server in server_processes(state):
        server.stop(timeout=timeout)
    if state.get("password_required"):
        try:
            password = (run_dir / PASSWORD_FILE).read_text().strip()
        except OSError:
            password = ""
        if password:
            remove_credentials(_state_addresses(state), password)
    if state.get("socket_dir"):
        shutil.rmtree(state["socket_dir"], ignore_errors=True)
    clear_state(run_dir)


def reap_stale_stores(root: Path | None = None, timeout: float = 10.0) -> list[Path]:
    """Clean up temporary run directories (``<tmp>/simdask-store-*``) whose store is no one's; the removed paths.

    What the watchdog of such a store could not do (it was killed with its
    owner, or the owner died while the store started): servers still
    running are stopped (SIGTERM, SIGKILL after ``timeout``), the directory
    and the store's socket folder removed. Only this user's directories, and
    never one whose owner is alive.
    """
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(TEMP_PREFIX + "*"):
        try:
            info = path.lstat()
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        state = read_state(path)
        if state is None or not state.get("temporary") or in_use(state):
            continue
        clean_orphan(path, state, timeout)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
