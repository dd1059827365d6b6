"""Reads of large tensors from one store take turns across the processes of a machine.

Valkey spends two to three times the CPU per byte sending large values to
several readers at once (their replies queue in its output buffers) as to one
reader at a time, and it is single-threaded: two Dask worker processes of a
node reading at once get no more bytes per second from it, only cost it (and
so the node's cores) more. :func:`machine_turn` makes the threads and
processes of one user on one machine take turns, a round each, per store
address (``benchmarks/README.md``, "xarray/Dask bridge").

The turn is a POSIX record lock on one byte of a lock file in the temporary
folder (mode 0600, one file per user, never removed), chosen by a hash of the
store's address: the kernel releases it when its process dies, so a killed
worker never leaves it held. The file holds no data; where it cannot be opened
(a read-only temporary folder, a file of another owner) each process reads as
if alone, as before.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Iterator

__all__ = ["LOCK_BYTES", "TURN_WAIT_S", "lock_path", "machine_turn"]

#: Bytes of the lock file whose locks stand for store addresses (two addresses sharing one take turns together).
LOCK_BYTES = 1 << 20
#: Seconds a read waits for its turn before it reads without one (a round takes milliseconds).
TURN_WAIT_S = 5.0
#: The pauses between tries for a turn another process holds: doubling from the first to the last.
_FIRST_PAUSE_S = 50e-6
_LAST_PAUSE_S = 1e-3
#: Seconds a process reads without turns after a turn did not come within the patience.
_GIVE_UP_S = 60.0

_FILES: dict[int, int | None] = {}  # process id -> the lock file's descriptor (None: cannot be opened)
_THREADS: dict[int, threading.Lock] = {}  # byte -> this process's lock for it (a record lock is per process)
_GIVEN_UP: dict[int, float] = {}  # byte -> until when this process reads without turns (a turn never came)
_LOCK = threading.Lock()
os.register_at_fork(after_in_child=_THREADS.clear)  # a lock held by another thread at the fork stays held


def lock_path() -> str:
    """The lock file of this user's processes on this machine."""
    return os.path.join(tempfile.gettempdir(), f"simdask-reads-{os.getuid()}.lock")


def _file() -> int | None:
    pid = os.getpid()
    if pid not in _FILES:
        with _LOCK:
            if pid not in _FILES:
                try:
                    fd: int | None = os.open(lock_path(), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                except OSError:
                    fd = None
                if fd is not None and os.fstat(fd).st_uid != os.getuid():
                    os.close(fd)
                    fd = None
                _FILES[pid] = fd
    return _FILES[pid]


def _byte(address: str) -> int:
    return int.from_bytes(hashlib.sha256(address.encode()).digest()[:8], "little") % LOCK_BYTES


def _take(fd: int, byte: int, patience: float) -> bool:
    """Take the record lock of ``byte``, waiting at most ``patience`` seconds; whether it was taken."""
    deadline = time.monotonic() + patience
    pause = _FIRST_PAUSE_S
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, byte)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN) or time.monotonic() >= deadline:
                return False
        time.sleep(pause)
        pause = min(2 * pause, _LAST_PAUSE_S)


@contextlib.contextmanager
def machine_turn(address: str, patience: float = TURN_WAIT_S) -> Iterator[None]:
    """Hold this machine's turn to read from the store at ``address`` (for one round of reads).

    Waits while another process (or thread) of this user holds it: a round
    each, a dead holder's turn released by the kernel. The turns only save the
    store's CPU, so after ``patience`` seconds (:data:`TURN_WAIT_S`: a holder
    stopped or paused in a debugger) this process reads without turns, for a
    minute, from that store.
    """
    fd = _file()
    byte = _byte(address)
    with _LOCK:
        local = _THREADS.setdefault(byte, threading.Lock())
    if time.monotonic() < _GIVEN_UP.get(byte, 0.0) or not local.acquire(timeout=patience):
        yield  # its holder has not let go for a while: read without turns for a while
        return
    try:
        taken = fd is not None and _take(fd, byte, patience)
        if fd is not None and not taken:
            _GIVEN_UP[byte] = time.monotonic() + _GIVE_UP_S
        try:
            yield
        finally:
            if taken:
                assert fd is not None
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, byte)
    finally:
        local.release()
