"""A store's own serving loops (``Store(serve=N)``): one process, started after the servers, stopped before them.

As RedisAI ran models inside the database, a store can answer
``run_model``/``run_script`` itself: it starts ``python -m simdask serve
--threads N`` (serving loops as threads, no Dask) in its run directory, with
the store's password in that process's environment only (never on its
command line), its output in ``serve.log``, and ``--exit-with`` the
servers' pids, so that it ends when the store does, however the store
ended. The store is ready once the loops' leases are in the store. The
process is stopped by the store's ``stop()``, by ``simdask store stop``, by
the store's watchdog when its owner dies, and by whoever cleans up an
orphaned store (its pid and start time are in the state file).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from .. import env
from ..errors import SimdaskError, StoreStartError
from ..protocol import Session, SessionOptions
from ..protocol.requests import live_loops

__all__ = ["SERVE_LOG", "ServingProcess"]

SERVE_LOG = "serve.log"
_SAME_START = 0.01  # seconds: psutil's start times of one process agree to this
#: Variables of the starting process a store's loops must not inherit (they name its keys and runs, or another
#: store); the address and password are given explicitly.
_NOT_INHERITED = (
    env.ADDRESS,
    env.PASSWORD,
    env.KEY_PREFIX,
    env.KEY_PREFIXES_IN,
    env.RUN_ID,
    env.RUN_WRITERS,
    env.RUN_WRITER,
)


class ServingProcess:
    """The process running a store's ``loops`` serving loops, found again by its pid and start time."""

    def __init__(self, loops: int, run_dir: Path, name: str) -> None:
        self.loops = loops
        self.run_dir = run_dir
        self.name = name
        self.pid: int | None = None
        self.started: float | None = None
        self._popen: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_state(cls, info: dict[str, Any]) -> ServingProcess:
        """The process a state file's ``serving`` entry describes."""
        process = cls(int(info["loops"]), Path(info["run_dir"]), str(info["name"]))
        process.pid, process.started = info.get("pid"), info.get("started")
        return process

    def state(self) -> dict[str, Any]:
        """What the state file records of it."""
        return {
            "loops": self.loops,
            "run_dir": str(self.run_dir),
            "name": self.name,
            "pid": self.pid,
            "started": self.started,
        }

    @property
    def log_path(self) -> Path:
        return self.run_dir / SERVE_LOG

    @property
    def consumers(self) -> list[str]:
        """The names of its loops (``simdask serve --threads`` names them so)."""
        return [f"{self.name}-{i}" for i in range(self.loops)]

    def start(self, address: str, password: str | None, server_pids: list[int], *, detach: bool) -> None:
        """Start the process (does not wait for its loops)."""
        variables = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        if password:
            variables[env.PASSWORD] = password
        argv = [sys.executable, "-m", "simdask", "-v", "serve", "--threads", str(self.loops), "--name", self.name]
        argv += ["--address", address]
        for pid in server_pids:
            argv += ["--exit-with", str(pid)]
        fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        try:
            self._popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                env=variables,
                start_new_session=detach,
            )
        except OSError as exc:
            raise StoreStartError(f"cannot start the store's serving loops ({sys.executable}): {exc}") from None
        finally:
            os.close(fd)
        self.pid = self._popen.pid
        try:
            self.started = psutil.Process(self.pid).create_time()
        except psutil.Error:  # it died at once: wait_ready says why
            self.started = None

    def wait_ready(self, address: str, password: str | None, deadline: float) -> None:
        """Wait until every loop holds its lease in the store; raise with the log's tail if the process
        exits or the deadline passes first."""
        session = Session(SessionOptions.resolve(address, password=password or ""))
        try:
            wanted = set(self.consumers)
            while True:
                if not self.is_alive():
                    raise StoreStartError(f"the store's serving loops exited on start; {self._tail()}")
                try:
                    with session.limit(max(0.1, deadline - time.monotonic())):
                        if wanted <= set(live_loops(session)):
                            return
                except SimdaskError as exc:
                    if time.monotonic() > deadline:
                        raise StoreStartError(f"the store's serving loops cannot be checked: {exc}") from None
                if time.monotonic() > deadline:
                    self.stop(timeout=2.0)
                    raise StoreStartError(f"the store's serving loops did not start in time; {self._tail()}")
                time.sleep(0.05)
        finally:
            session.close()

    def _tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"no log ({self.log_path})"
        return f"log tail ({self.log_path}):\n" + "\n".join(text.splitlines()[-lines:])

    def is_alive(self) -> bool:
        """Whether the very process started (not a later one with its pid) still runs."""
        if self._popen is not None:
            return self._popen.poll() is None
        if self.pid is None or self.started is None:
            return False
        try:
            proc = psutil.Process(self.pid)
            same = abs(proc.create_time() - self.started) < _SAME_START
            return same and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the loops finish and hand their requests over), SIGKILL after ``timeout``."""
        if self.is_alive():
            assert self.pid is not None
            for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
                if self._wait_exit(wait_s):
                    break
        if self._popen is not None and self._popen.poll() is None:
            self._popen.wait()

    def _wait_exit(self, timeout: float) -> bool:
        if self._popen is not None:
            try:
                self._popen.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while self.is_alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def __repr__(self) -> str:
        return f"<ServingProcess {self.name!r} loops={self.loops} pid={self.pid}>"
