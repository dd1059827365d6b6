"""Runs (``docs/protocol.md``, "Runs"): which execution of a writer group each key belongs to.

A writer group is every process writing under one write prefix ``P``; a run
is one execution of it, numbered by the store. Writers in run ``n`` write
under the run prefix ``P@n``, so a rerun with the same key names never
mixes with an earlier run. The registry (``simdask:{runs:P}`` and its
per-run hashes) records each run's id, writers, heartbeats and ends; the
Lua scripts ``BEGIN_RUN`` and ``END_RUN`` (:mod:`.scripts`) change it, the
same bytes from every client.

A group without runs keeps plain ``P.<name>`` keys and the older end-of-run
marker :data:`END_OF_RUN`.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import psutil

from .. import _html, config, env, wire
from ..errors import RunFailedError, RunNotFoundError, SimdaskError
from ..transport import Request, deadline
from .scripts import BEGIN_RUN, END_RUN, RUN_INFO
from .session import Session, seconds_setting
from .tensors import delete_tensors, key_exists

__all__ = [
    "END_OF_RUN",
    "RunInfo",
    "RunList",
    "RunScope",
    "RunState",
    "WriterIdentity",
    "WriterInfo",
    "check_launch",
    "current_run",
    "current_run_command",
    "delete_run",
    "find_run",
    "identity_from_env",
    "key_prefix",
    "lease_seconds",
    "list_runs",
    "plain_key",
    "prune_runs",
    "record_launch",
    "registry_key",
    "run_ended",
    "run_info",
    "run_prefix",
]

#: Tensor name a writer outside a run puts (any value; by convention a 0-d tensor) to say its run is over.
END_OF_RUN = "simdask:end"

RunState = Literal["running", "ended", "failed"]
_HOST = socket.gethostname()


def registry_key(group: str) -> str:
    """The registry hash of writer group ``group``; its runs' keys extend it (one hash tag, one shard).

    >>> registry_key("sim"), registry_key("")
    ('simdask:{runs:sim}', 'simdask:{runs:}')
    """
    return f"simdask:{{runs:{group}}}"


def run_prefix(group: str, run: int) -> str:
    """The key prefix of run ``run`` of group ``group``.

    >>> run_prefix("sim", 3), run_prefix("", 3)
    ('sim@3', '@3')
    """
    return f"{group}@{run}"


def lease_seconds(explicit: float | None = None) -> float:
    """How long a writer's heartbeat lasts: ``explicit``, else ``SIMDASK_RUN_LEASE``, else ``runs.lease``."""
    seconds = seconds_setting(explicit, env.RUN_LEASE, "runs.lease", zero_means_forever=False)
    assert seconds is not None  # 0 is refused, a default is configured
    return seconds


@dataclass(frozen=True)
class WriterIdentity:
    """Which run a process writes in: the run id its writers share, its index, their count."""

    run_id: str
    writer: int
    writers: int

    def __post_init__(self) -> None:
        if not self.run_id or any(c in self.run_id for c in "\r\n\0"):
            raise ValueError(f"a run id must be a non-empty line of text, got {self.run_id!r}")
        if not 0 <= self.writer < self.writers:
            raise ValueError(f"writer index {self.writer} is not in [0, {self.writers}) (writers={self.writers})")


def _integer(environ: Mapping[str, str], name: str, default: int | None) -> int | None:
    text = environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"the environment variable {name} must be an integer, got {text!r}") from None


def _launcher(environ: Mapping[str, str]) -> tuple[str, int, int] | None:
    """Run id, rank and size from an MPI or srun launcher's environment (``docs/protocol.md``, rules 2-3)."""
    job = environ.get("PMIX_NAMESPACE") or environ.get("OMPI_MCA_ess_base_jobid")
    if job and "OMPI_COMM_WORLD_SIZE" in environ:
        rank = _integer(environ, "OMPI_COMM_WORLD_RANK", 0)
        size = _integer(environ, "OMPI_COMM_WORLD_SIZE", 1)
        assert rank is not None and size is not None
        return f"ompi:{job}", rank, size
    step = environ.get("SLURM_STEP_ID", "").strip()
    if step and environ.get("SLURM_JOB_ID"):
        rank = _integer(environ, "SLURM_PROCID", 0)
        size = _integer(environ, "SLURM_STEP_NUM_TASKS", None) or _integer(environ, "SLURM_NTASKS", 1)
        assert rank is not None and size is not None
        return f"slurm:{environ['SLURM_JOB_ID']}.{step}", rank, size
    return None


_RUN_SCOPED = re.compile(r"([^@{}]*)@[0-9]+\.(.+)", re.DOTALL)


def plain_key(key: str) -> str | None:
    """The plain key of a run-scoped key (``P@n.name`` -> ``P.name``, ``@n.name`` -> ``name``); ``None`` for a
    key in no run. A read that finds a run-scoped key missing looks there next ("Runs", fallback 1).

    >>> plain_key("sim@3.u"), plain_key("@12.{ds}.meta"), plain_key("u"), plain_key("simdask:model:{m}")
    ('sim.u', '{ds}.meta', None, None)
    """
    match = _RUN_SCOPED.fullmatch(key)
    if match is None:
        return None
    group, name = match.groups()
    return f"{group}.{name}" if group else name


def identity_from_env(environ: Mapping[str, str] | None = None, *, launcher: bool = True) -> WriterIdentity | None:
    """The run this process writes in, as its environment says (``None``: not in a run).

    ``launcher=False`` leaves out the runs of MPI and srun launches (rules 2-3
    of ``docs/protocol.md`` "Runs"): only ``SIMDASK_RUN_ID`` names a run, the
    launcher still giving its default writer index and count.

    >>> identity_from_env({"SIMDASK_RUN_ID": "case7", "SIMDASK_RUN_WRITERS": "4", "SIMDASK_RUN_WRITER": "2"})
    WriterIdentity(run_id='case7', writer=2, writers=4)
    >>> identity_from_env({"PMIX_NAMESPACE": "1234", "OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"})
    WriterIdentity(run_id='ompi:1234', writer=1, writers=2)
    >>> identity_from_env({}) is None
    True
    >>> identity_from_env({"PMIX_NAMESPACE": "1234", "OMPI_COMM_WORLD_SIZE": "2"}, launcher=False) is None
    True
    """
    environ = os.environ if environ is None else environ
    launched = _launcher(environ)
    run_id = environ.get(env.RUN_ID, "").strip()
    if run_id:
        if launched is None and "PMI_SIZE" in environ:  # MPICH's Hydra: a rank and size, no job id
            launched = ("", _integer(environ, "PMI_RANK", 0) or 0, _integer(environ, "PMI_SIZE", 1) or 1)
        writers = _integer(environ, env.RUN_WRITERS, launched[2] if launched else 1)
        writer = _integer(environ, env.RUN_WRITER, launched[1] if launched else 0)
        assert writers is not None and writer is not None
        return WriterIdentity(run_id, writer, writers)
    if launched and launcher:
        return WriterIdentity(*launched)
    return None


# -- writers ---------------------------------------------------------------------------


def begin(session: Session, group: str, identity: WriterIdentity, lease: float) -> int:
    """Join (or begin) the run of ``identity`` in ``group``; its number."""
    key = registry_key(group)
    return int(
        session.transport.execute(
            key,
            "EVAL",
            BEGIN_RUN,
            1,
            key,
            identity.run_id,
            identity.writer,
            identity.writers,
            _HOST,
            os.getpid(),
            max(1, round(lease * 1000)),
            context=f"beginning run {identity.run_id!r} of writer group {group!r}",
        )
    )


def end(session: Session, group: str, run: int, writer: int) -> int:
    """End ``writer``'s part of ``run``; how many of its writers have ended."""
    key = registry_key(group)
    return int(
        session.transport.execute(
            key, "EVAL", END_RUN, 1, key, run, writer, context=f"ending run {run} of writer group {group!r}"
        )
    )


def heartbeat(session: Session, group: str, run: int, writer: int, lease: float) -> None:
    """Renew ``writer``'s heartbeat in ``run`` for ``lease`` seconds."""
    key = f"{registry_key(group)}:{run}:alive:{writer}"
    session.transport.execute(key, "SET", key, "1", "PX", max(1, round(lease * 1000)))


# -- readers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WriterInfo:
    """One writer of a run, as the registry and its heartbeat say."""

    index: int
    host: str | None = None
    pid: int | None = None
    began: float | None = None
    ended: float | None = None
    alive: bool = False
    death: str | None = None  # why it counts as dead, if it does

    def describe(self) -> str:
        where = f" (pid {self.pid} on {self.host})" if self.pid is not None else ""
        return f"writer {self.index}{where}"


@dataclass(frozen=True)
class RunInfo:
    """One run of a writer group: its id, writers and state."""

    group: str
    number: int
    run_id: str
    writers: int
    began: float
    ended: int
    members: tuple[WriterInfo, ...] = field(default=())
    read_at: float | None = None  # the store's time when this was read (``began`` is the store's time too)

    @property
    def prefix(self) -> str:
        """The key prefix its writers write under."""
        return run_prefix(self.group, self.number)

    @property
    def dead(self) -> tuple[WriterInfo, ...]:
        """Writers that died without ending their part."""
        return tuple(w for w in self.members if w.death is not None)

    @property
    def state(self) -> RunState:
        """``"ended"`` when every writer ended, ``"failed"`` when one died first, else ``"running"``."""
        if self.ended >= self.writers:
            return "ended"
        return "failed" if self.dead else "running"

    def cells(self) -> list[str]:
        """Its row of a table of runs (HTML): number, id, state, writers ended, began, key prefix, dead writers."""
        tone = {"running": "ok", "ended": "off", "failed": "bad"}[self.state]
        began = datetime.fromtimestamp(self.began).strftime("%Y-%m-%d %H:%M:%S")
        dead = "; ".join(f"{w.describe()} {w.death}" for w in self.dead)
        ended = f"{self.ended} of {self.writers}"
        values = (self.number, self.run_id, None, ended, began, self.prefix, dead)
        return [_html.esc(v) if v is not None else _html.badge(self.state, tone) for v in values]

    def _repr_html_(self) -> str:
        return _html.guarded(lambda: _runs_table([self], f"run {self.number} of writer group {self.group!r}"), "run")

    def check(self) -> None:
        """Raise :class:`~simdask.errors.RunFailedError` naming the dead writers, if any."""
        dead = self.dead
        if dead and self.ended < self.writers:
            named = "; ".join(f"{w.describe()} {w.death}" for w in dead)
            raise RunFailedError(
                f"run {self.number} ({self.run_id!r}) of writer group {self.group!r} failed: "
                f"{len(dead)} of its {self.writers} writer(s) died without ending it: {named}"
            )


def _pid_gone(pid: int) -> bool:
    """Whether process ``pid`` of this host has exited: there is none, or a zombie (it died and its parent has not
    waited for it yet, as a writer started with ``subprocess.Popen`` and not polled)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # ZombieProcess too
        return True
    except psutil.Error:  # not ours to look at: it runs
        return False


def _decode(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _writer(index: int, record: Any, alive: bool, began: float, now: float, lease: float) -> WriterInfo:
    if record is None:
        death = f"never began ({now - began:.0f} s after the run began)" if now - began > lease else None
        return WriterInfo(index, death=death)
    try:
        doc = wire.parse_json(record if isinstance(record, bytes) else str(record).encode())
        host, pid = str(doc["host"]), int(doc["pid"])
        w_began = float(doc["began"])
        w_ended = float(doc["ended"]) if doc.get("ended") is not None else None
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # not a JSON object of those fields
        return WriterInfo(index, death=f"has an unreadable registry record ({exc!r})")
    death = None
    if w_ended is None:
        if host == _HOST and _pid_gone(pid):
            death = "is gone (its process has exited)"
        elif not alive:
            death = f"stopped its heartbeat (lease {lease:g} s)"
    return WriterInfo(index, host, pid, w_began, w_ended, alive, death)


def run_info(session: Session, group: str, run: int, *, lease: float | None = None) -> RunInfo | None:
    """Run ``run`` of ``group`` (``None`` when there is no such run): its record, the store's time and every
    writer's heartbeat, read at one instant (one round trip)."""
    base = registry_key(group)
    request = Request(base, [("EVAL", RUN_INFO, 1, base, run)], idempotent=True)
    fields, now_reply, alive = session.transport.run([request])[0]
    if not fields:
        return None
    record = {_decode(k): v for k, v in zip(fields[::2], fields[1::2])}
    try:
        writers, began, ended = int(record["writers"]), float(record["began"]), int(record["ended"])
    except (KeyError, ValueError) as exc:
        raise RunNotFoundError(f"run {run} of writer group {group!r} has a malformed registry entry ({exc})") from None
    now = float(_decode(now_reply[0])) + float(_decode(now_reply[1])) / 1e6
    lease = lease_seconds(lease)
    members = tuple(_writer(i, record.get(f"w:{i}"), bool(alive[i]), began, now, lease) for i in range(writers))
    return RunInfo(group, run, _decode(record.get("token", "")), writers, began, ended, members, now)


def find_run(session: Session, group: str, run: int | str) -> int:
    """The number of run ``run`` of ``group``: a number (checked to exist) or a run id."""
    key = registry_key(group)
    if isinstance(run, str):
        number = session.transport.execute(key, "HGET", key, f"tok:{run}")
        if number is None:
            raise RunNotFoundError(f"writer group {group!r} has no run with id {run!r}")
        return int(number)
    if not session.transport.execute(key, "EXISTS", f"{key}:{run}"):
        raise RunNotFoundError(f"writer group {group!r} has no run {run}")
    return int(run)


def current_run(session: Session, group: str) -> int | None:
    """The latest run begun in ``group`` (``None``: the group has no runs)."""
    key, command = current_run_command(group)
    value = session.transport.execute(key, *command)
    return None if value is None else int(value)


def current_run_command(group: str) -> tuple[str, tuple[str, str, str]]:
    """The key and command :func:`current_run` sends (its reply: the run number or nil), for a caller that
    sends them in a pipeline with others."""
    key = registry_key(group)
    return key, ("HGET", key, "current")


def key_prefix(group: str, run: int | None) -> str:
    """The key prefix, with its trailing dot (``""`` for none), of run ``run`` of ``group`` (``None``: its plain
    keys).

    >>> key_prefix("sim", 3), key_prefix("sim", None), key_prefix("", 3), key_prefix("", None)
    ('sim@3.', 'sim.', '@3.', '')
    """
    scoped = group if run is None else run_prefix(group, run)
    return f"{scoped}." if scoped else ""


def record_launch(session: Session, group: str, run_id: str, pid: int) -> None:
    """Record that process ``pid`` of this host was launched to write run ``run_id`` of ``group`` (an
    ``Experiment`` launch): a reader waiting for that run then knows when it exits before the run began."""
    key = registry_key(group)
    record = json.dumps({"host": _HOST, "pid": pid})
    session.transport.execute(key, "HSET", key, f"launch:{run_id}", record)


def check_launch(session: Session, group: str, run_id: str) -> None:
    """Raise :class:`~simdask.errors.RunFailedError` when run ``run_id`` of ``group`` has not begun and never will:
    the process launched to write it (:func:`record_launch`) ran on this host and has exited."""
    key = registry_key(group)
    token, record = session.transport.execute(key, "HMGET", key, f"tok:{run_id}", f"launch:{run_id}")
    if token is not None or record is None:
        return
    try:
        doc = wire.parse_json(record)
        host, pid = str(doc["host"]), int(doc["pid"])
    except (KeyError, TypeError, ValueError):  # not a record of ours: nothing known
        return
    if host != _HOST or not _pid_gone(pid) or session.transport.execute(key, "HEXISTS", key, f"tok:{run_id}"):
        return  # elsewhere, still running, or it began the run just before it exited
    raise RunFailedError(
        f"run {run_id!r} of writer group {group!r} failed: the process launched to write it (pid {pid} on {host}) "
        "exited before any of its writers began the run (it wrote nothing)"
    )


class RunList(list[RunInfo]):
    """Runs of a writer group, oldest first: a list, which Jupyter shows as a table."""

    def __init__(self, group: str, runs: Iterable[RunInfo] = ()) -> None:
        super().__init__(runs)
        self.group = group

    def _repr_html_(self) -> str:
        title = f"{len(self)} run(s) of writer group {self.group!r}"
        return _html.guarded(lambda: _runs_table(self, title), "runs")


def _runs_table(runs: Iterable[RunInfo], title: str) -> str:
    head = ["run", "id", "state", "writers ended", "began", "key prefix", "dead writers"]
    return _html.table(head, [r.cells() for r in runs], cls="simdask-runs", caption=_html.esc(title))


def list_runs(session: Session, group: str, *, lease: float | None = None) -> RunList:
    """Every run of ``group`` still in the store, oldest first."""
    key = registry_key(group)
    last = session.transport.execute(key, "HGET", key, "seq")
    runs = (run_info(session, group, n, lease=lease) for n in range(1, int(last or 0) + 1))
    return RunList(group, (info for info in runs if info is not None))


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def delete_run(session: Session, group: str, run: int, *, force: bool = False) -> int:
    """Delete every key of run ``run`` of ``group`` (chunks included) and its registry entries.

    A running run is refused unless ``force``. Returns how many keys were deleted.
    """
    info = run_info(session, group, run)
    if info is None:
        raise RunNotFoundError(f"writer group {group!r} has no run {run}")
    if info.state == "running" and not force:
        raise RunFailedError(
            f"run {run} ({info.run_id!r}) of writer group {group!r} is still running; pass force=True to delete it"
        )
    keys = [k for shard in session.transport.scan(_glob_escape(run_prefix(group, run)) + ".*") for k in shard]
    deleted = sum(delete_tensors(session, keys)) if keys else 0
    base = registry_key(group)
    commands: list[tuple[Any, ...]] = [
        ("DEL", f"{base}:{run}", *(f"{base}:{run}:alive:{i}" for i in range(info.writers)))
    ]
    commands.append(("HDEL", base, f"tok:{info.run_id}", f"launch:{info.run_id}"))
    session.transport.run([Request(base, commands)])
    return deleted


def prune_runs(session: Session, group: str, keep: int) -> list[int]:
    """Delete all but the last ``keep`` ended or failed runs of ``group``; the numbers deleted."""
    if keep < 0:
        raise ValueError(f"keep must be >= 0, got {keep}")
    finished = [info.number for info in list_runs(session, group) if info.state != "running"]
    doomed = finished[: max(0, len(finished) - keep)]
    for number in doomed:
        delete_run(session, group, number, force=True)
    return doomed


def run_ended(session: Session, marker_key: str) -> bool:
    """Whether a run without registry, whose end-of-run marker is ``marker_key``, is over."""
    return key_exists(session, marker_key)


# -- one client's view -----------------------------------------------------------------


class RunScope:
    """The runs one client's keys are in: its own (as a writer) and the one it reads of each group.

    Parameters
    ----------
    session
        The client's session.
    group
        The writer group it writes to: its write prefix.
    identity
        The run it writes in (:func:`identity_from_env`); ``None``: plain keys
        until :meth:`begin` is called.
    lease
        Heartbeat lease in seconds (``None``: :func:`lease_seconds`).
    """

    def __init__(
        self, session: Session, group: str, identity: WriterIdentity | None, lease: float | None = None
    ) -> None:
        self.session = session
        self.group = group  # the group this client writes to (its write prefix)
        self.identity = identity
        self.lease = lease_seconds(lease)
        self.run: int | None = None  # kept after the end: reads of the group stay on it
        self.ended = False
        self._reading: dict[str, int | None] = {}
        self._owner = True  # False in an unpickled copy (a Dask worker): it neither beats nor ends
        self._beat = 0.0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_owner"] = False
        return state

    def begin(self, identity: WriterIdentity | None = None) -> int:
        """Begin (or join) a run of this client's group now; its number."""
        if self.run is not None and not self.ended:
            raise RunFailedError(
                f"this client already writes in run {self.run} of writer group {self.group!r}; end_run() first"
            )
        if identity is None:
            identity = self.identity or WriterIdentity(f"run-{secrets.token_hex(8)}", 0, 1)
        self.run = begin(self.session, self.group, identity, self.lease)
        self.identity, self.ended, self._owner, self._beat = identity, False, True, time.monotonic()
        if not _BEGUN:  # (re)registered when a first run begins: exit handlers run last-in first-out, so this
            atexit.unregister(_end_at_exit)  # one runs before a store started earlier is stopped at exit
            atexit.register(_end_at_exit)
        _BEGUN.add(self)
        self._reading.pop(self.group, None)
        keep = config.get("runs.keep")
        if keep is not None:
            prune_runs(self.session, self.group, int(keep))
        return self.run

    def end(self, *, begin_first: bool = True) -> None:
        """End this writer's part of its run.

        A writer of an environment run that has not begun yet (it wrote
        nothing) begins and ends it when ``begin_first``, so that the run can
        end; a client in no run does nothing.
        """
        if not self._owner or self.ended:
            return
        if self.run is None:
            if self.identity is None or not begin_first:
                return
            self.begin()
        assert self.run is not None and self.identity is not None
        self.ended = True
        _BEGUN.discard(self)
        end(self.session, self.group, self.run, self.identity.writer)

    def write_prefix(self, group: str) -> str:
        """The prefix writes to ``group`` go under: its run's when this client writes in one."""
        if group != self.group:
            return group
        if self.run is None and self.identity is not None:
            self.begin()
        if self.run is None:
            return group
        if self.ended:
            raise RunFailedError(
                f"this client ended its part of run {self.run} of writer group {group!r}: it writes no more "
                "(begin_run() begins a new run)"
            )
        if self._owner and time.monotonic() - self._beat > self.lease / 4:
            assert self.identity is not None
            heartbeat(self.session, group, self.run, self.identity.writer, self.lease)
            self._beat = time.monotonic()
        return run_prefix(group, self.run)

    def read_prefix(self, group: str, *, look_again: bool = False) -> str:
        """The prefix reads of ``group`` use: this client's own run once begun, else the run it chose or
        first found (a read never begins a run). ``look_again``: when the group had no run, look it up
        again (a run may have begun since)."""
        if group == self.group and self.run is not None:
            return run_prefix(group, self.run)
        if group not in self._reading or (look_again and self._reading[group] is None):
            self._reading[group] = current_run(self.session, group)
        run = self._reading[group]
        return group if run is None else run_prefix(group, run)

    def read_run(self, group: str, run: int | None) -> None:
        """Read ``run`` of ``group`` from now on (``None``: its current run, looked up at the next read)."""
        if run is None:
            self._reading.pop(group, None)
        else:
            self._reading[group] = run


#: Scopes with a run begun and not ended in this process: kept alive until then, even when their client is
#: gone (a writer that drops its client without closing it has still finished writing at exit).
_BEGUN: set[RunScope] = set()
_EXIT_WAIT = 5.0  # seconds ending runs may hold up the exit of a process whose stores stopped answering


def _end_at_exit() -> None:
    """A Python process that exits normally has finished writing: end its part of the runs its clients began
    (as closing them would). One that dies of an uncaught exception does not: its readers see it die."""
    if getattr(sys, "last_value", None) is not None or getattr(sys, "last_exc", None) is not None:
        return
    atexit.unregister(_end_at_exit)
    with deadline(_EXIT_WAIT):  # one budget for them all
        for scope in list(_BEGUN):
            try:
                scope.end(begin_first=False)
            except SimdaskError:  # the store is gone or frozen: the writer counts as dead, which is the truth
                pass
