"""The local launcher: each job script runs as a process in its own session on this machine.

Stopping a job stops its whole process group (and any descendant that left
it): SIGTERM, then SIGKILL after ``simdask.experiment.stop-timeout`` seconds.
The jobs do not outlive the Python process that launched them: a watchdog
(:mod:`simdask.store.watchdog`) stops them the same way when it dies without
stopping them, even killed (a Jupyter kernel restarted).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from ... import config
from ...errors import LaunchError
from ...store.watchdog import Watchdog, start_watchdog
from ..jobs import JobScript, JobState, Status
from .base import Launcher

__all__ = ["LocalLauncher", "local_state", "stop_process_tree"]

_CANCEL_SIGNALS = {signal.SIGTERM, signal.SIGKILL, signal.SIGINT, signal.SIGHUP}


def local_state(returncode: int | None) -> JobState:
    """A job script's state from its process's return code (``None``: still running).

    >>> local_state(0).status, local_state(3).status, local_state(-15).status
    (<Status.COMPLETED: 'Completed'>, <Status.FAILED: 'Failed'>, <Status.CANCELLED: 'Cancelled'>)
    """
    if returncode is None:
        return JobState(Status.RUNNING)
    if returncode == 0:
        return JobState(Status.COMPLETED, 0)
    if returncode < 0:
        sig = signal.Signals(-returncode)
        status = Status.CANCELLED if sig in _CANCEL_SIGNALS else Status.FAILED
        return JobState(status, returncode, f"killed by {sig.name}")
    return JobState(Status.FAILED, returncode)


def stop_process_tree(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM ``proc``'s process group and every descendant, SIGKILL what is left after ``timeout``."""
    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        tree = []
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        for p in tree:  # descendants that started a group or session of their own
            try:
                p.send_signal(sig)
            except psutil.Error:
                pass
        tree = _wait_gone(proc, tree, wait_s)
        if proc.poll() is not None and not tree:
            return


def _wait_gone(proc: subprocess.Popen[bytes], tree: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until ``proc`` has exited and ``tree`` is gone (zombies count as gone); return what is left."""
    deadline = time.monotonic() + timeout
    while True:
        tree = [p for p in tree if _alive(p)]
        if proc.poll() is not None and not tree or time.monotonic() > deadline:
            return tree
        time.sleep(0.02)


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class LocalLauncher(Launcher):
    """Runs job scripts as processes on this machine (``mpiexec`` for more than one task)."""

    name = "local"
    mpi_command = "mpiexec"
    initial_status = Status.RUNNING
    batch_system = False
    poll_interval = 0.05  # a query is a waitpid

    def __init__(self) -> None:
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._watchdog: Watchdog | None = None

    def submit(self, job: JobScript) -> str:
        path = self.write(job)
        watchdog = self._watch()
        with open(job.out_path, "wb") as out, open(job.err_path, "wb") as err:
            proc = self._spawn(["bash", str(path)], cwd=job.run_dir, stdout=out, stderr=err)
        self._procs[str(proc.pid)] = proc
        watchdog.watch_group(proc.pid, job.run_dir)  # its own session: the group's id is its pid
        return str(proc.pid)

    def _watch(self) -> Watchdog:
        """The watchdog that stops this launcher's jobs if this process dies first (started with the first job)."""
        if self._watchdog is None:
            try:
                self._watchdog = start_watchdog([], [], float(config.get("experiment.stop-timeout")))
            except OSError as exc:
                raise LaunchError(f"cannot start the watchdog of local jobs: {exc}") from None
        return self._watchdog

    def query(self, jobs: Mapping[str, Path | None]) -> dict[str, JobState]:
        states = {}
        for job_id in jobs:
            proc = self._procs.get(job_id)
            states[job_id] = local_state(proc.poll()) if proc else JobState(Status.FAILED, None, "not started here")
        return states

    def cancel(self, job_ids: Sequence[str]) -> None:
        timeout = float(config.get("experiment.stop-timeout"))
        for job_id in job_ids:
            proc = self._procs.get(job_id)
            if proc is not None and proc.poll() is None:
                stop_process_tree(proc, timeout)
        if self._watchdog is not None and all(p.poll() is not None for p in self._procs.values()):
            self._watchdog.release()  # nothing left to watch: the next job starts another
            self._watchdog = None
