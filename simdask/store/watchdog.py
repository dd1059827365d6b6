"""A store's watchdog: when the process that owns a store dies, stop its servers and remove its files.

The owner keeps the write end of a pipe; the watchdog, a small process in a
session of its own (Ctrl-C in a terminal does not reach it), blocks reading
the other end. The read returns ``b"x"`` when :meth:`Store.stop` releases it
(nothing left to do), and end-of-file when the owner died, however it died
(SIGTERM, SIGKILL, ``os._exit``) and whichever thread started the store
(``PR_SET_PDEATHSIG`` would fire when that thread ends). The watchdog then
sends SIGTERM to the servers that are still ours (same working directory),
SIGKILL after ``--timeout`` seconds, and removes the store's temporary files.

It runs by path as ``python -I -S watchdog.py``: standard library only, no
site-packages, no simdask import, so it costs a few MB and ~20 ms to start.
A process that forks without exec (``multiprocessing``'s fork) hands the
pipe to its children: the watchdog then acts once they are all gone.

The owner can also tell a running watchdog of process groups to stop with
it (:meth:`Watchdog.watch_group`): an experiment's local jobs, launched one
by one after it started. On the owner's death each group that is still
ours (one of its processes works in the job's folder) gets SIGTERM, with
every descendant that left it, and SIGKILL after ``--timeout``. The owner
writes NUL-terminated records on the pipe: ``g<pgid>:<folder>`` adds a
group, ``x`` releases the watchdog.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["Watchdog", "start_watchdog"]

_RELEASE = b"x"
_END = b"\0"  # ends each record the owner writes
_EXIT_WAIT = 5.0  # seconds for the watchdog itself to exit once released


class Watchdog:
    """The owner's side: the pipe's write end and the watchdog process."""

    def __init__(self, proc: subprocess.Popen[bytes], fd: int) -> None:
        self._proc = proc
        self._fd: int | None = fd

    @property
    def pid(self) -> int:
        return self._proc.pid

    def release(self) -> None:
        """The owner stopped what it watches itself: let the watchdog exit without doing anything."""
        if self._fd is None:
            return
        try:
            os.write(self._fd, _RELEASE + _END)
        except OSError:  # the watchdog is gone already
            pass
        os.close(self._fd)
        self._fd = None
        try:
            self._proc.wait(_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def watch_group(self, pgid: int, folder: Path) -> None:
        """Stop process group ``pgid`` too when the owner dies, if one of its processes still works in ``folder``."""
        if self._fd is None:
            raise ValueError("the watchdog was released")
        os.write(self._fd, b"g%d:%s" % (pgid, os.fsencode(os.path.realpath(folder))) + _END)


def start_watchdog(servers: Sequence[tuple[int, Path]], remove: Sequence[Path], timeout: float) -> Watchdog:
    """Watch this process on behalf of ``servers`` (pid, working directory) and the paths to ``remove``."""
    argv = [sys.executable, "-I", "-S", str(Path(__file__).resolve()), "--timeout", str(timeout)]
    for pid, cwd in servers:
        argv += ["--server", f"{pid}:{cwd}"]
    for path in remove:
        argv += ["--remove", str(path)]
    read_end, write_end = os.pipe()  # both non-inheritable: no other child of the owner holds the pipe
    try:
        proc = subprocess.Popen(
            argv, stdin=read_end, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
    except BaseException:
        os.close(write_end)
        raise
    finally:
        os.close(read_end)
    return Watchdog(proc, write_end)


# -- the watchdog process (standard library only) ----------------------------------


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie nobody reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _ours(pid: int, cwd: str) -> bool:
    """Whether ``pid`` is still the server started in ``cwd`` (not a recycled pid); assumed where /proc is absent."""
    try:
        return os.path.realpath(os.readlink(f"/proc/{pid}/cwd")) == os.path.realpath(cwd)
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")
    except OSError:
        return False


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, process group) of every process in /proc (none where there is no /proc)."""
    found = {}
    for name in os.listdir("/proc") if os.path.isdir("/proc/self") else []:
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()  # state, ppid, pgrp, ...
                found[int(name)] = (int(fields[1]), int(fields[2]))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _group(pgid: int, folder: str, processes: dict[int, tuple[int, int]]) -> list[int]:
    """The processes of group ``pgid`` and their descendants (also those that left it), if one of the group
    works in ``folder``; none otherwise (the group is gone, or its id went to someone else's)."""
    members = [pid for pid, (_, group) in processes.items() if group == pgid]
    if not any(_ours(pid, folder) for pid in members):
        return []
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(members), list(members)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return sorted(found)


def _stop(servers: list[tuple[int, str]], timeout: float, groups: Sequence[tuple[int, str]] = ()) -> None:
    live = [pid for pid, cwd in servers if not _gone(pid) and _ours(pid, cwd)]
    if groups:
        processes = _processes()
        live += [pid for pgid, folder in groups for pid in _group(pgid, folder, processes) if pid not in live]
    blind = [pgid for pgid, _ in groups] if not os.path.isdir("/proc/self") else []  # no /proc: trust the ids
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in live:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        for pgid in blind:
            try:
                os.killpg(pgid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait_s
        while live and time.monotonic() < deadline:
            live = [pid for pid in live if not _gone(pid)]
            time.sleep(0.02)
        if not live:
            return


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _read_owner() -> tuple[bool, list[tuple[int, str]]]:
    """Read the owner's records until it releases the watchdog (``True``) or dies (``False``: the pipe ends),
    and the process groups it named on the way."""
    groups: list[tuple[int, str]] = []
    pending = b""
    while True:
        try:
            chunk = os.read(0, 4096)  # blocks until the owner writes, releases the watchdog or dies
        except OSError:
            chunk = b""
        if not chunk:
            return False, groups
        *records, pending = (pending + chunk).split(_END)
        for record in records:
            if record == _RELEASE:
                return True, groups
            if record.startswith(b"g"):
                pgid, _, folder = record[1:].partition(b":")
                groups.append((int(pgid), os.fsdecode(folder)))


def main(argv: Sequence[str] | None = None) -> int:
    """Wait for the owner to release or die; on death stop the servers and remove the files."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    parser = argparse.ArgumentParser(prog="simdask-store-watchdog")
    parser.add_argument("--timeout", type=float, required=True)
    parser.add_argument("--server", action="append", default=[])
    parser.add_argument("--remove", action="append", default=[])
    args = parser.parse_args(argv)
    servers = [(int(pid), cwd) for pid, _, cwd in (s.partition(":") for s in args.server)]
    released, groups = _read_owner()
    if released:
        return 0
    _stop(servers, args.timeout, groups)
    for path in args.remove:
        _remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
