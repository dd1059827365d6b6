"""The Slurm launcher: ``sbatch`` per entity, ``srun`` for ranks, ``squeue``/``sacct`` for status, ``scancel``.

Outside an allocation each entity is a batch job. Inside one (``SLURM_JOB_ID``
set, e.g. a driver run under ``salloc`` or ``sbatch``) entities run as job
steps of that allocation: :class:`SlurmStepLauncher`.

The output parsers are small pure functions, tested against captured output.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from ...errors import LaunchError
from ..jobs import JobScript, JobState, Status, read_exitcode
from ..shell import check_plain_path
from .base import Launcher
from .local import LocalLauncher

__all__ = [
    "SlurmLauncher",
    "SlurmStepLauncher",
    "parse_sacct",
    "parse_sbatch",
    "parse_squeue",
    "slurm_state",
    "slurm_time",
]

SQUEUE_FORMAT = "%i|%T|%r|%S|%e"
SACCT_FIELDS = "JobID,State,ExitCode"
_QUEUED = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD", "SPECIAL_EXIT"}
_FAILED = {"FAILED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED", "REVOKED"}
_NO_SUCH_JOB = ("Invalid job id",)


def parse_sbatch(stdout: str) -> str:
    """The job id ``sbatch`` printed (``--parsable``: ``123`` or ``123;cluster``; else ``Submitted batch job 123``)."""
    text = stdout.strip()
    last = text.splitlines()[-1] if text else ""
    match = re.search(r"Submitted batch job (\d+)", text) or re.fullmatch(r"(\d+)(;\S+)?", last)
    if not match:
        raise LaunchError(f"no job id in sbatch's output: {stdout!r}")
    return match.group(1)


def parse_squeue(stdout: str) -> dict[str, tuple[str, ...]]:
    """``squeue -h -t all -o '%i|%T|%r|%S|%e'`` -> ``{job id: (state, reason, start time, end time)}``."""
    jobs = {}
    for line in stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) >= 2 and parts[0]:
            jobs[parts[0]] = tuple([*parts[1:5], "", "", ""][:4])
    return jobs


def slurm_time(text: str) -> datetime | None:
    """A time as Slurm prints it (``2026-11-27T06:28:56``, local time); ``None`` for ``N/A``, ``Unknown``, ...

    >>> slurm_time("N/A") is None
    True
    """
    try:
        return datetime.fromisoformat(text.strip()).astimezone()
    except ValueError:
        return None


def parse_sacct(stdout: str) -> dict[str, tuple[str, int | None]]:
    """``sacct -n -P -X -o JobID,State,ExitCode`` -> ``{job id: (state, exit status)}``.

    ``State`` may read ``CANCELLED by 1000`` (the first word counts); ``ExitCode``
    is ``status:signal`` (a job killed by a signal has a non-zero signal).
    """
    jobs: dict[str, tuple[str, int | None]] = {}
    for line in stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) < 3 or not parts[0]:
            continue
        state = parts[1].split()[0] if parts[1].split() else ""
        code, _, sig = parts[2].partition(":")
        returncode = int(code) if code.isdigit() else None
        if sig.isdigit() and int(sig) and not returncode:
            returncode = -int(sig)
        jobs[parts[0]] = (state, returncode)
    return jobs


def slurm_state(
    state: str | None, reason: str = "", returncode: int | None = None, start: str = "", end: str = ""
) -> JobState:
    """A job's state from Slurm's (``None``: Slurm no longer knows the job) and the exit status it recorded.

    >>> slurm_state("RUNNING").status
    <Status.RUNNING: 'Running'>
    >>> slurm_state("CANCELLED", "None").status
    <Status.CANCELLED: 'Cancelled'>
    >>> state = slurm_state("FAILED", "NonZeroExitCode", 3)
    >>> state.status, state.returncode, state.reason
    (<Status.FAILED: 'Failed'>, 3, 'FAILED (NonZeroExitCode)')
    """
    if state is None:
        if returncode is None:
            return JobState(Status.FAILED, None, "the job left Slurm's queue without recording an exit status")
        return JobState(Status.COMPLETED if returncode == 0 else Status.FAILED, returncode)
    why = f"{state} ({reason})" if reason and reason != "None" else state
    started, ended = slurm_time(start), slurm_time(end)
    if state in _QUEUED:
        return JobState(Status.QUEUED, None, why)
    if state == "COMPLETED":
        status, returncode = Status.COMPLETED, 0 if returncode is None else returncode
    elif state == "CANCELLED":
        status = Status.CANCELLED
    elif state in _FAILED:
        status = Status.FAILED
    else:  # running, completing, or a state this version does not know: not finished
        return JobState(Status.RUNNING, None, why, started)
    return JobState(status, returncode, why, started, ended)


class _SlurmSteps:
    """Co-located stores as one task per node of a job: a job step, stopped with SIGTERM through ``scancel``."""

    def per_node_command(self, argv: Sequence[str], nodes: int, step_name: str) -> list[str]:
        return [
            "srun",
            f"--nodes={nodes}",
            f"--ntasks={nodes}",
            "--ntasks-per-node=1",
            "--overlap",
            f"--job-name={step_name}",
            *argv,
        ]

    def stop_per_node(self, step_name: str, pid_var: str) -> list[str]:
        return [
            f'step=$(squeue -h -s -j "$SLURM_JOB_ID" -o "%i %j" | awk \'$2 == "{step_name}" {{print $1}}\')',
            f'if [ -n "$step" ]; then scancel -s TERM "$step"; else kill -TERM ${pid_var} 2>/dev/null; fi',
        ]


class SlurmLauncher(_SlurmSteps, Launcher):
    """Each entity is a batch job (``sbatch``); ranks start with ``srun`` inside it."""

    name = "slurm"
    directive_prefix = "#SBATCH"
    mpi_command = "srun"

    def directives(self, job: JobScript) -> list[str]:
        b = job.batch
        out, err = (check_plain_path(f"the run directory of {job.name}", p) for p in (job.out_path, job.err_path))
        lines = [
            f"--job-name={job.name}",
            f"--output={out}",
            f"--error={err}",
            f"--nodes={b.nodes}",
            f"--ntasks-per-node={b.tasks_per_node}",
            f"--cpus-per-task={b.cpus_per_task}",
        ]
        if b.walltime:
            lines.append(f"--time={b.walltime}")
        if b.queue:
            lines.append(f"--partition={b.queue}")
        if b.account:
            lines.append(f"--account={b.account}")
        return lines + list(b.directives)

    def submit(self, job: JobScript) -> str:
        path = self.write(job)
        return parse_sbatch(self._call(["sbatch", "--parsable", str(path)]).stdout)

    def query(self, jobs: Mapping[str, Path | None]) -> dict[str, JobState]:
        if not jobs:
            return {}
        ids = ",".join(jobs)
        found = parse_squeue(
            self._call(["squeue", "-h", "-t", "all", "-j", ids, "-o", SQUEUE_FORMAT], ok_errors=_NO_SUCH_JOB).stdout
        )
        missing = [j for j in jobs if j not in found]
        accounted: dict[str, tuple[str, int | None]] = {}
        if missing:  # purged from slurmctld's memory (MinJobAge): ask the accounting database, if there is one
            accounted = parse_sacct(
                self._call(
                    ["sacct", "-n", "-P", "-X", "-j", ",".join(missing), "-o", SACCT_FIELDS],
                    ok_errors=("accounting storage is disabled", "not running", "Connection refused", *_NO_SUCH_JOB),
                ).stdout
            )
        states = {}
        for job_id, exitcode_path in jobs.items():
            returncode = read_exitcode(exitcode_path)
            if job_id in found:
                state, reason, start, end = found[job_id]
                states[job_id] = slurm_state(state, reason, returncode, start, end)
            elif job_id in accounted:
                state, code = accounted[job_id]
                states[job_id] = slurm_state(state, "", returncode if returncode is not None else code)
            else:
                states[job_id] = slurm_state(None, "", returncode)
        return states

    def cancel(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            self._call(["scancel", *job_ids], ok_errors=_NO_SUCH_JOB + ("already completed",))


class SlurmStepLauncher(_SlurmSteps, LocalLauncher):
    """Inside an allocation: entities are job steps (``srun``) started from this process, stopped with it."""

    name = "slurm"
    mpi_command = "srun"
    mpi_for_serial = True  # a step lands on the allocation's nodes, not on the node running the driver
    batch_system = True

    def service_command(self, argv: Sequence[str]) -> list[str]:
        return ["srun", "--nodes=1", "--ntasks=1", "--overlap", *argv]
