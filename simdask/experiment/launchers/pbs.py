"""The PBS launcher (PBS Professional, OpenPBS, Torque): ``qsub``, ``qstat``, ``qdel``; ranks with ``mpiexec``.

Status comes from ``qstat -x -f -F json`` (PBS Professional/OpenPBS: running
and finished jobs in one call); where that is not understood (Torque, or
Slurm's ``qsub``/``qstat`` wrappers) from the text of ``qstat -f``. The
directives are written into the script as ``#PBS`` lines and also passed to
``qsub`` on its command line (the ``-l`` resources joined into one ``-l``),
so that front-ends which do not read ``#PBS`` lines (Slurm's torque
wrappers) honour them too. PBS copies a job's own
output back only at its end, so the script sends its output to files in the
run directory itself.

The output parsers are small pure functions, tested against captured output.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from ...errors import LaunchError
from ..jobs import JobScript, JobState, Status, read_exitcode
from ..shell import check_plain_path
from .base import Launcher

__all__ = ["PBSLauncher", "parse_qstat_full", "parse_qstat_json", "parse_qsub", "pbs_state", "pbs_time"]

_QUEUED = {"Q", "H", "W", "T", "M"}
_FINISHED = {"C", "F", "X"}
_SUBSTATE_TERMINATED = 91  # PBS Professional: the job was deleted (qdel) or killed
_NO_SUCH_JOB = 153  # PBSE_UNKJOBID (15001) as an exit status
_JOB_FINISHED = 35  # PBSE_HISTJOBID (15139): "Job has finished, use -x"


def parse_qsub(stdout: str) -> str:
    """The job id ``qsub`` printed (``1234.server`` on PBS, ``1234`` through Slurm's wrapper)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    if not lines or " " in lines[-1]:
        raise LaunchError(f"no job id in qsub's output: {stdout!r}")
    return lines[-1]


def parse_qstat_full(stdout: str) -> dict[str, dict[str, str]]:
    """``qstat -f`` text -> ``{job id: {attribute: value}}``.

    Each job starts with ``Job Id: <id>``; attributes are ``name = value`` lines
    indented the same way as the job's first one (4 spaces on PBS and Torque,
    a tab through Slurm's wrapper); more deeply indented lines continue the
    previous value (PBS wraps long values at 80 columns).
    """
    jobs: dict[str, dict[str, str]] = {}
    attrs: dict[str, str] = {}
    indent: str | None = None
    last = ""
    for line in stdout.splitlines():
        head = re.match(r"Job Id:\s*(\S+)", line)
        if head:
            attrs = jobs.setdefault(head.group(1), {})
            indent, last = None, ""
            continue
        if not jobs or not line.strip() or not line[0].isspace():
            continue
        lead = line[: len(line) - len(line.lstrip())]
        match = re.match(r"\s*([A-Za-z_][\w.]*) = ?(.*)$", line)
        if match and (indent is None or lead == indent):
            indent = lead
            last = match.group(1)
            attrs[last] = match.group(2).rstrip()
        elif last:
            attrs[last] += line.strip()
    return jobs


def parse_qstat_json(stdout: str) -> dict[str, dict[str, str]]:
    """``qstat -x -f -F json`` -> ``{job id: {attribute: value}}`` (``Exit_status``, ``job_state``, ...).

    Raises ``ValueError`` when the output is not PBS's JSON (a ``qstat`` without ``-F json``).
    """
    start = stdout.find("{")
    if start < 0:
        raise ValueError("no JSON in qstat's output")
    data = json.loads(stdout[start:])
    if not isinstance(data, dict) or "pbs_version" not in data and "Jobs" not in data:
        raise ValueError("not the JSON of PBS's qstat")
    return {job_id: {k: str(v) for k, v in attrs.items()} for job_id, attrs in data.get("Jobs", {}).items()}


def pbs_time(text: str | None) -> datetime | None:
    """A time as ``qstat`` prints it (``Wed Apr 14 23:34:19 2021``, local time); ``None`` if absent.

    >>> pbs_time("Wed Apr 14 23:34:19 2021").strftime("%H:%M:%S")
    '23:34:19'
    """
    try:
        return datetime.strptime(" ".join(str(text).split()), "%a %b %d %H:%M:%S %Y").astimezone()
    except ValueError:
        return None


def pbs_state(attrs: Mapping[str, str] | None, returncode: int | None = None) -> JobState:
    """A job's state from its ``qstat`` attributes (``None``: PBS no longer knows it) and its recorded exit status.

    Finished (``F`` on PBS Professional, ``C`` on Torque): the exit status the
    script recorded, else PBS's ``Exit_status``; a job deleted or killed by a
    signal (substate 91, or ``Exit_status`` >= 256, i.e. 256 + the signal) is
    Cancelled, as is one that ended with no exit status at all.

    >>> pbs_state({"job_state": "R"}).status
    <Status.RUNNING: 'Running'>
    >>> pbs_state({"job_state": "F", "Exit_status": "271", "substate": "91"}).status
    <Status.CANCELLED: 'Cancelled'>
    >>> pbs_state({"job_state": "F", "Exit_status": "2", "substate": "93"}).returncode
    2
    """
    if attrs is None:
        if returncode is None:
            return JobState(Status.FAILED, None, "the job left PBS's queue without recording an exit status")
        return JobState(Status.COMPLETED if returncode == 0 else Status.FAILED, returncode)
    state = attrs.get("job_state", "")
    started, ended = pbs_time(attrs.get("stime", attrs.get("start_time"))), pbs_time(attrs.get("obittime"))
    if state in _QUEUED:
        return JobState(Status.QUEUED, None, f"job_state {state}")
    if state not in _FINISHED:
        return JobState(Status.RUNNING, None, f"job_state {state}", started)
    exit_status = attrs.get("Exit_status", attrs.get("exit_status"))
    pbs_code = int(exit_status) if exit_status and re.fullmatch(r"-?\d+", exit_status) else None
    code = returncode if returncode is not None else pbs_code
    why = f"job_state {state}" + (f", Exit_status {pbs_code}" if pbs_code is not None else "")
    if returncode is None and (attrs.get("substate") == str(_SUBSTATE_TERMINATED) or code is None or code >= 256):
        return JobState(Status.CANCELLED, code, why, started, ended)
    return JobState(Status.COMPLETED if code == 0 else Status.FAILED, code, why, started, ended)


def _split(directive: str) -> list[str]:
    """A directive's words (``-l place=scatter`` -> ``["-l", "place=scatter"]``), for ``qsub``'s command line."""
    try:
        return shlex.split(directive)
    except ValueError as exc:
        raise ValueError(f"directive {directive!r}: {exc}") from None


class PBSLauncher(Launcher):
    """Each entity is a PBS job (``qsub``); ranks start with ``mpiexec`` inside it."""

    name = "pbs"
    directive_prefix = "#PBS"
    mpi_command = "mpiexec"

    def __init__(self) -> None:
        self._json: bool | None = None  # whether qstat speaks -x -F json: found out on first use

    def options(self, job: JobScript) -> list[list[str]]:
        """The directives, one option (and its value) each: the script's ``#PBS`` lines."""
        b = job.batch
        select = f"select={b.nodes}:ncpus={b.tasks_per_node * b.cpus_per_task}:mpiprocs={b.tasks_per_node}"
        opts = [["-N", job.name[:236]], ["-l", select]]
        if b.walltime:
            opts.append(["-l", f"walltime={b.walltime}"])
        log = check_plain_path(f"the run directory of {job.name}", job.run_dir / f"{job.name}.pbs.log")
        opts += [["-j", "oe"], ["-o", log]]
        if b.queue:
            opts.append(["-q", b.queue])
        if b.account:
            opts.append(["-A", b.account])
        return opts + [_split(d) for d in b.directives]

    def directives(self, job: JobScript) -> list[str]:
        return [shlex.join(opt) for opt in self.options(job)]

    def qsub_args(self, job: JobScript) -> list[str]:
        """The directives as ``qsub`` arguments, every ``-l`` resource in one ``-l`` (a wrapper keeps only the last)."""
        opts = self.options(job)
        resources = [opt[1] for opt in opts if opt[0] == "-l" and len(opt) == 2]
        others = [a for opt in opts if not (opt[0] == "-l" and len(opt) == 2) for a in opt]
        return ["-l", ",".join(resources), *others]

    def prologue(self, job: JobScript) -> list[str]:
        out, err = shlex.quote(str(job.out_path)), shlex.quote(str(job.err_path))
        return [f"exec >{out} 2>{err}"]

    def submit(self, job: JobScript) -> str:
        path = self.write(job)
        return parse_qsub(self._call(["qsub", *self.qsub_args(job), str(path)]).stdout)

    def query(self, jobs: Mapping[str, Path | None]) -> dict[str, JobState]:
        if not jobs:
            return {}
        found: dict[str, dict[str, str]] | None = None
        if self._json is not False:
            result = self._call(["qstat", "-x", "-f", "-F", "json", *jobs], check=False)
            try:
                found = parse_qstat_json(result.stdout)
                self._json = True
            except ValueError:
                if self._json:
                    raise LaunchError(f"qstat -x -f -F json failed: {result.stderr.strip()}") from None
                self._json = False
        if found is None:
            result = self._call(["qstat", "-f", *jobs], check=False)
            if result.returncode not in (0, _NO_SUCH_JOB, _JOB_FINISHED):
                raise LaunchError(f"`qstat -f` failed with exit status {result.returncode}: {result.stderr.strip()}")
            found = parse_qstat_full(result.stdout)
        short = {job_id.split(".")[0]: attrs for job_id, attrs in found.items()}
        return {
            job_id: pbs_state(found.get(job_id, short.get(job_id.split(".")[0])), read_exitcode(path))
            for job_id, path in jobs.items()
        }

    def cancel(self, job_ids: Sequence[str]) -> None:
        if job_ids:  # qdel fails for jobs already finished: no error here
            self._call(["qdel", *job_ids], check=False)
