"""What every launcher shares: writing job scripts, the choke points that run commands, rank layouts.

A launcher is a small subclass that mostly sets class attributes (its
directive prefix, its MPI launcher) and says how to submit, query and cancel.
Every external command goes through :meth:`Launcher._call` (commands that
finish: ``sbatch``, ``squeue``, ``qstat``, ...) or :meth:`Launcher._spawn`
(processes that run: local jobs); both log the command and raise
:class:`~simdask.errors.LaunchError` with its output when it fails.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar

from ... import config
from ...errors import LaunchError
from ...store.files import private_dir, write_private
from ..jobs import BatchSettings, JobScript, JobState, Status
from ..shell import check_directive, export_lines

__all__ = ["CommandResult", "Launcher", "parallel_command"]

log = logging.getLogger("simdask.experiment")

_OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class CommandResult:
    """What a finished command returned."""

    returncode: int
    stdout: str
    stderr: str


def parallel_command(
    run_command: str | None, argv: Sequence[str], batch: BatchSettings, run_args: Sequence[str] = ()
) -> list[str]:
    """The command line that starts ``argv`` as ``batch.ntasks`` ranks.

    >>> parallel_command("srun", ["./sim"], BatchSettings(nodes=2, tasks_per_node=4))
    ['srun', '--nodes=2', '--ntasks=8', '--ntasks-per-node=4', '--cpus-per-task=1', './sim']
    >>> parallel_command("mpiexec", ["./sim", "-v"], BatchSettings(tasks_per_node=4))
    ['mpiexec', '-n', '4', './sim', '-v']
    >>> parallel_command(None, ["python", "sim.py"], BatchSettings())
    ['python', 'sim.py']
    """
    argv = [str(a) for a in argv]
    if not run_command:
        if batch.ntasks > 1:
            raise ValueError(f"{batch.ntasks} tasks need a run command (srun, mpiexec, mpirun), not none")
        return [*run_args, *argv]
    name = Path(run_command).name
    if name == "srun":
        layout = [
            f"--nodes={batch.nodes}",
            f"--ntasks={batch.ntasks}",
            f"--ntasks-per-node={batch.tasks_per_node}",
            f"--cpus-per-task={batch.cpus_per_task}",
        ]
        return [run_command, *layout, *run_args, *argv]
    if name.startswith(("mpiexec", "mpirun")):
        return [run_command, "-n", str(batch.ntasks), *run_args, *argv]
    return [run_command, *run_args, *argv]  # another launcher (aprun, jsrun, ...): the user's run_args say it all


class Launcher(ABC):
    """Writes job scripts and submits, queries and cancels them on one kind of system."""

    #: Name used in ``Experiment(launcher=...)``.
    name: ClassVar[str]
    #: Prefix of directive lines in job scripts (``#SBATCH``, ``#PBS``); empty: none.
    directive_prefix: ClassVar[str] = ""
    #: What ``run_command="auto"`` uses for more than one task.
    mpi_command: ClassVar[str] = "mpiexec"
    #: Whether ``run_command="auto"`` uses :attr:`mpi_command` for a single task too.
    mpi_for_serial: ClassVar[bool] = False
    #: Status of a job right after :meth:`submit`.
    initial_status: ClassVar[Status] = Status.QUEUED
    #: Seconds between status queries; ``None``: ``simdask.experiment.poll-interval`` (queries cost a command).
    poll_interval: ClassVar[float | None] = None
    #: Whether the Dask side runs on the batch system (dask-jobqueue) rather than on this machine.
    batch_system: ClassVar[bool] = True

    # -- the choke points ----------------------------------------------------------

    def _call(self, argv: Sequence[str], *, check: bool = True, ok_errors: Sequence[str] = ()) -> CommandResult:
        """Run a command to its end; raise :class:`LaunchError` when it fails.

        A non-zero exit whose output contains one of ``ok_errors`` (e.g. "Invalid
        job id" from ``squeue`` asked about a purged job), or any exit with
        ``check=False``, is returned, not raised; a command that cannot run or
        times out always raises.
        """
        cmd = [str(a) for a in argv]
        text = shlex.join(cmd)
        log.info("%s launcher: %s", self.name, text)
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                timeout=float(config.get("experiment.command-timeout")),
            )
        except FileNotFoundError:
            raise LaunchError(f"{cmd[0]} is not on PATH (running `{text}` for the {self.name} launcher)") from None
        except subprocess.TimeoutExpired as exc:
            raise LaunchError(f"`{text}` did not finish within {exc.timeout} s") from None
        result = CommandResult(done.returncode, done.stdout, done.stderr)
        if check and done.returncode != 0 and not any(e in done.stdout + done.stderr for e in ok_errors):
            raise LaunchError(
                f"`{text}` failed with exit status {done.returncode}\n"
                f"stdout:\n{done.stdout[-_OUTPUT_TAIL:]}\nstderr:\n{done.stderr[-_OUTPUT_TAIL:]}"
            )
        return result

    def _spawn(
        self, argv: Sequence[str], *, cwd: Path, stdout: IO[bytes], stderr: IO[bytes]
    ) -> subprocess.Popen[bytes]:
        """Start a process in its own session (so that its whole process group can be stopped)."""
        cmd = [str(a) for a in argv]
        log.info("%s launcher: starting %s in %s", self.name, shlex.join(cmd), cwd)
        try:
            return subprocess.Popen(
                cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True
            )
        except OSError as exc:
            raise LaunchError(f"cannot start `{shlex.join(cmd)}` in {cwd}: {exc}") from None

    # -- job scripts ---------------------------------------------------------------

    def directives(self, job: JobScript) -> list[str]:
        """Scheduler options written as ``{directive_prefix} <option>`` lines."""
        return []

    def prologue(self, job: JobScript) -> list[str]:
        """Shell lines run first in the job (e.g. redirecting output)."""
        return []

    def render(self, job: JobScript) -> str:
        """The job script's text: directives checked to be one line each, values quoted, secrets read from files."""
        lines = ["#!/bin/bash"]
        lines += [
            f"{self.directive_prefix} {check_directive(f'{job.name} directives', d)}" for d in self.directives(job)
        ]
        lines.append(f"# {job.kind} {job.name}: job script written by simdask ({self.name} launcher)")
        lines += self.prologue(job)
        lines.append(f"cd {shlex.quote(str(job.run_dir))} || exit 1")
        lines += export_lines(job.env, job.env_files)
        lines += list(job.body)
        return "\n".join(lines) + "\n"

    def write(self, job: JobScript) -> Path:
        """Write the job script (0700, owner only, from its creation) in its run directory (0700)."""
        private_dir(job.run_dir)
        path = job.script_path
        write_private(path, self.render(job), 0o700)
        job.exitcode_path.unlink(missing_ok=True)
        return path

    # -- ranks ---------------------------------------------------------------------

    def resolve_run_command(self, run_command: str | None, batch: BatchSettings) -> str | None:
        """``"auto"`` -> :attr:`mpi_command` for more than one task (or always, with :attr:`mpi_for_serial`)."""
        if run_command != "auto":
            return run_command or None
        return self.mpi_command if batch.ntasks > 1 or self.mpi_for_serial else None

    def launch_command(
        self, argv: Sequence[str], batch: BatchSettings, run_command: str | None = "auto", run_args: Sequence[str] = ()
    ) -> list[str]:
        """The command line that starts an application's ranks inside its job."""
        return parallel_command(self.resolve_run_command(run_command, batch), argv, batch, run_args)

    def service_command(self, argv: Sequence[str]) -> list[str]:
        """How a service (the store) is started inside its own job: as is, unless the launcher places it."""
        return list(argv)

    def per_node_command(self, argv: Sequence[str], nodes: int, step_name: str) -> list[str]:
        """One copy of ``argv`` on each of the job's ``nodes`` (co-located stores), run in the background."""
        if nodes > 1:
            raise ValueError(f"the {self.name} launcher runs co-located stores on one node only, not {nodes}")
        return list(argv)

    def stop_per_node(self, step_name: str, pid_var: str) -> list[str]:
        """Shell lines that stop what :meth:`per_node_command` started (its PID is in ``$pid_var``)."""
        return [f"kill -TERM ${pid_var} 2>/dev/null"]

    # -- jobs ----------------------------------------------------------------------

    @abstractmethod
    def submit(self, job: JobScript) -> str:
        """Write and launch the job script; return the job id."""

    @abstractmethod
    def query(self, jobs: Mapping[str, Path | None]) -> dict[str, JobState]:
        """States of jobs by id (each with the exit-code file its script writes, if any)."""

    @abstractmethod
    def cancel(self, job_ids: Sequence[str]) -> None:
        """Stop jobs; jobs already gone are no error."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
