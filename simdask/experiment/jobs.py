"""What launchers and the experiment pass around: statuses, batch settings, job scripts, job records."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .shell import check_directive, check_name, check_walltime

__all__ = ["BatchSettings", "Job", "JobScript", "JobState", "Status", "read_exitcode"]


class Status(str, enum.Enum):
    """Where an entity of an experiment stands."""

    NEW = "New"
    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def finished(self) -> bool:
        """Completed, Failed or Cancelled: nothing runs any more."""
        return self in (Status.COMPLETED, Status.FAILED, Status.CANCELLED)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class JobState:
    """What a launcher found out about one job (start and end times when the scheduler says)."""

    status: Status
    returncode: int | None = None
    reason: str = ""
    started: datetime | None = None
    ended: datetime | None = None


@dataclass(frozen=True)
class BatchSettings:
    """Resources of one job: the ``#SBATCH``/``#PBS`` directives, and the ranks' layout.

    ``walltime`` is ``HH:MM:SS``; ``queue`` is the Slurm partition or PBS
    queue; ``directives`` are extra scheduler options, one per line, without
    the ``#SBATCH``/``#PBS`` prefix (e.g. ``"--gres=gpu:1"``, ``"-l place=scatter"``).
    Schedulers read these lines unquoted, so each is checked (a ``ValueError``
    names the setting): a newline there would be a command in the job.
    """

    nodes: int = 1
    tasks_per_node: int = 1
    cpus_per_task: int = 1
    walltime: str | None = None
    queue: str | None = None
    account: str | None = None
    directives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("nodes", "tasks_per_node", "cpus_per_task"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.walltime is not None:
            check_walltime("walltime", self.walltime)
        for name in ("queue", "account"):
            if getattr(self, name) is not None:
                check_name(name, getattr(self, name))
        for directive in self.directives:
            check_directive("directives", directive)

    @property
    def ntasks(self) -> int:
        return self.nodes * self.tasks_per_node


@dataclass(frozen=True)
class JobScript:
    """One job to launch: a bash script run in ``run_dir``, its output files and environment.

    ``env_files`` are variables the script reads from files when it runs
    (the store's password): their values are never in the script's text.
    """

    name: str
    kind: str
    run_dir: Path
    body: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    batch: BatchSettings = field(default_factory=BatchSettings)
    env_files: Mapping[str, Path] = field(default_factory=dict)

    @property
    def script_path(self) -> Path:
        return self.run_dir / f"{self.name}.sh"

    @property
    def out_path(self) -> Path:
        return self.run_dir / f"{self.name}.out"

    @property
    def err_path(self) -> Path:
        return self.run_dir / f"{self.name}.err"

    @property
    def exitcode_path(self) -> Path:
        """Written by the script itself when its command ends (not when the job is killed)."""
        return self.run_dir / f"{self.name}.exitcode"


def read_exitcode(path: Path | None) -> int | None:
    """The exit status a job script recorded, or ``None`` (not finished, or killed before it could)."""
    if path is None:
        return None
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass
class Job:
    """One launched job script, as an experiment tracks it."""

    entity: str
    kind: str
    script: JobScript
    job_id: str
    status: Status = Status.QUEUED
    returncode: int | None = None
    started: datetime | None = None
    ended: datetime | None = None
    error: str = ""
    cancel_requested: bool = False

    def update(self, state: JobState, stderr_lines: int = 20) -> None:
        """Take a launcher's state; note start/end times and, on failure, the tail of stderr."""
        if self.status.finished:
            return
        now = datetime.now().astimezone()
        status = state.status
        if status == Status.FAILED and self.cancel_requested:
            status = Status.CANCELLED
        if state.started is not None:
            self.started = state.started
        elif status in (Status.RUNNING, Status.COMPLETED, Status.FAILED):
            self.started = self.started or now
        if status.finished:
            self.ended = state.ended or _mtime(self.script.exitcode_path) or now
            self.returncode = state.returncode
            if status == Status.FAILED:
                self.error = _failure_message(self, state, stderr_lines)
        self.status = status


def _mtime(path: Path) -> datetime | None:
    """When the script recorded its exit status: the end of its command."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    except OSError:
        return None


def _failure_message(job: Job, state: JobState, lines: int) -> str:
    what = f"exit status {state.returncode}" if state.returncode is not None else (state.reason or "no exit status")
    try:
        tail = "\n".join(job.script.err_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        tail = ""
    text = f"{job.kind} {job.entity!r} (job {job.job_id}) failed: {what}"
    if state.reason and state.returncode is not None:
        text += f" ({state.reason})"
    return text + (f"; tail of {job.script.err_path}:\n{tail}" if tail.strip() else f"; {job.script.err_path} is empty")
