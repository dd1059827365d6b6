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
        """The owner stopped the store itself: let the watchdog exit without doing anything."""
        if self._fd is None:
            return
        try:
            os.write(self._fd, _RELEASE)
        except OSError:  # the watchdog is gone already
            pass
        os.close(self._fd)
        self._fd = None
        try:
            self._proc.wait(_EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


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


def _stop(servers: list[tuple[int, str]], timeout: float) -> None:
    live = [pid for pid, cwd in servers if not _gone(pid) and _ours(pid, cwd)]
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in live:
            try:
                os.kill(pid, sig)
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
    try:
        word = os.read(0, 1)  # blocks until the owner releases the watchdog or dies
    except OSError:
        word = b""
    if word == _RELEASE:
        return 0
    _stop(servers, args.timeout)
    for path in args.remove:
        _remove(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
