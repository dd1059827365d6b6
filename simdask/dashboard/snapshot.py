"""One reading of everything the dashboard shows, taken from the store alone.

:func:`take_snapshot` asks every shard for its memory, keys and command
counts (``INFO`` and ``DBSIZE``), the request streams for their depth, the
serving loops' leases and records, the inference counts and latencies
(:mod:`simdask.inference.stats`), and the runs registry of every writer group
(``docs/protocol.md``, "Runs"), with the keys of each run counted by one
``SCAN`` of the store while it holds at most ``scan_limit`` keys.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..client import Client
from ..errors import RunNotFoundError
from ..inference.loop import STATS_KEY
from ..inference.stats import Latency, latency_summaries, loop_records
from ..protocol.requests import GPU_STREAM, GROUP, LOOPS_KEY, REQUEST_STREAM, known_nodes, node_stream
from ..protocol.runs import registry_key, run_info
from ..protocol.session import Session
from ..transport import Address, ErrorReply, Request

__all__ = ["SCAN_LIMIT", "Loop", "Model", "Run", "Served", "Shard", "Snapshot", "Stream", "take_snapshot"]

#: Runs' keys are counted (one ``SCAN`` per shard per reading) only while the store holds at most this many keys.
SCAN_LIMIT = 200_000
#: Runs shown per writer group: the latest ones.
RUNS_PER_GROUP = 10
_SCAN_COUNT = 10_000
_REGISTRY = re.compile(r"^simdask:\{runs:(.*)\}$")
_RUN_KEY = re.compile(r"^([^@]*)@(\d+)\.(.+)$")
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class Shard:
    """One primary server of the store."""

    address: str
    used_memory: int  # bytes
    maxmemory: int  # bytes; 0: no limit
    keys: int
    commands: dict[str, int]  # calls since the server started, per command (``set``, ``get``, ...)
    net_input_bytes: int
    net_output_bytes: int


@dataclass(frozen=True)
class Stream:
    """A run-request stream: entries not answered yet, and those of them a loop has read."""

    name: str
    length: int
    pending: int


@dataclass(frozen=True)
class Served:
    """Run requests of one model answered on one device by the loops of one worker."""

    model: str  # ``<kind>:<name>``
    device: str
    worker: str
    requests: int


@dataclass(frozen=True)
class Model:
    """One model's answers, executions and latencies."""

    model: str
    requests: int
    runs: int  # executions: a batch runs once for many requests
    devices: tuple[str, ...]
    latency: Latency | None


@dataclass(frozen=True)
class Loop:
    """One serving loop with a lease in the store."""

    consumer: str
    alive: bool
    worker: str  # "" until it answered something (the dashboard adds what Dask knows)
    gpu: bool | None  # None: not known yet
    devices: tuple[str, ...]
    served: int
    errors: int
    pending: int
    idle_s: float | None


@dataclass(frozen=True)
class Run:
    """One run of a writer group; ``keys`` and the steps are ``None`` when the store was too large to count."""

    group: str
    number: int
    run_id: str
    state: str
    writers: int
    ended: int
    began: float
    keys: int | None
    steps: int | None  # distinct numbers ending its key names (``u.step12``: 12)
    last_step: int | None


@dataclass(frozen=True)
class Snapshot:
    """Everything the dashboard shows, as the store said at ``time``."""

    time: float
    address: str
    cluster: bool
    shards: list[Shard]
    streams: list[Stream]
    served: list[Served]
    models: list[Model]
    loops: list[Loop]
    runs: list[Run]
    runs_counted: bool = field(default=True)  # whether the runs' keys were counted


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _pairs(reply: Any) -> dict[str, Any]:
    if isinstance(reply, ErrorReply) or not reply:
        return {}
    return {_text(k): v for k, v in zip(reply[::2], reply[1::2])}


def parse_info(text: str) -> tuple[dict[str, str], dict[str, int]]:
    """``INFO`` output as its ``name: value`` fields and the calls per command of its commandstats.

    >>> parse_info("# Memory\\r\\nused_memory:1024\\r\\ncmdstat_set:calls=3,usec=9,usec_per_call=3.00\\r\\n")
    ({'used_memory': '1024'}, {'set': 3})
    """
    fields: dict[str, str] = {}
    calls: dict[str, int] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if not sep or line.startswith("#"):
            continue
        if name.startswith("cmdstat_"):
            stats = dict(part.partition("=")[::2] for part in value.split(","))
            calls[name[len("cmdstat_") :]] = int(stats.get("calls", 0))
        else:
            fields[name] = value.strip()
    return fields, calls


def _shard(client: Client, node: Address) -> Shard:
    transport = client.session.transport
    fields, calls = parse_info(_text(transport.execute_on(node, "INFO", "memory", "stats", "commandstats")))
    return Shard(
        str(node),
        int(fields.get("used_memory", 0)),
        int(fields.get("maxmemory", 0)),
        int(transport.execute_on(node, "DBSIZE")),
        calls,
        int(fields.get("total_net_input_bytes", 0)),
        int(fields.get("total_net_output_bytes", 0)),
    )


def _scan(session: Session, pattern: str) -> list[str]:
    """Every key matching ``pattern`` on every shard (``SCAN``, ``COUNT`` 10,000)."""
    return [key for shard in session.transport.scan(pattern, count=_SCAN_COUNT) for key in shard]


def _streams_and_leases(session: Session) -> tuple[list[Stream], dict[str, tuple[int, float | None]], dict[str, bool]]:
    """The request streams (main, GPU, each node's), each consumer's (pending, idle s), and each leased loop's
    liveness: two round trips."""
    names = (REQUEST_STREAM, GPU_STREAM, *map(node_stream, known_nodes(session)))
    commands: list[tuple[Any, ...]] = [("TIME",), ("ZRANGE", LOOPS_KEY, 0, -1, "WITHSCORES")]
    for stream in names:
        commands += [("XLEN", stream), ("XPENDING", stream, GROUP), ("XINFO", "CONSUMERS", stream, GROUP)]
    replies = session.transport.run([Request(REQUEST_STREAM, commands, idempotent=True)])[0]
    now, leases = replies[0], replies[1]
    now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
    alive = {_text(name): float(score) > now_ms for name, score in zip(leases[::2], leases[1::2])}
    streams: list[Stream] = []
    consumers: dict[str, tuple[int, float | None]] = {}
    for i, stream in enumerate(names):
        length, pending, infos = replies[2 + 3 * i : 5 + 3 * i]
        held = 0 if isinstance(pending, ErrorReply) or not pending else int(pending[0])
        streams.append(Stream(stream, 0 if isinstance(length, ErrorReply) else int(length), held))
        for info in [] if isinstance(infos, ErrorReply) else infos or []:
            fields = _pairs(info)
            name = _text(fields.get("name", b""))
            count, idle = consumers.get(name, (0, None))
            idle_s = int(fields.get("idle", 0)) / 1000
            consumers[name] = (count + int(fields.get("pending", 0)), idle_s if idle is None else min(idle, idle_s))
    return streams, consumers, alive


def _inference(session: Session) -> tuple[list[Served], list[Model]]:
    counts = _pairs(session.transport.execute(STATS_KEY, "HGETALL", STATS_KEY))
    served: list[Served] = []
    runs: dict[str, int] = {}
    for name, value in counts.items():
        if name.startswith("runs|"):
            runs[name[len("runs|") :]] = int(value)
            continue
        parts = name.rsplit("|", 2)
        if len(parts) == 3:
            served.append(Served(parts[0], parts[1], parts[2], int(value)))
    labels = sorted({s.model for s in served} | set(runs))
    latencies = latency_summaries(session, labels)
    models = [
        Model(
            label,
            sum(s.requests for s in served if s.model == label),
            runs.get(label, 0),
            tuple(sorted({s.device for s in served if s.model == label})),
            latencies.get(label),
        )
        for label in labels
    ]
    return sorted(served, key=lambda s: (s.model, s.device, s.worker)), models


def _loops(session: Session, consumers: dict[str, tuple[int, float | None]], alive: dict[str, bool]) -> list[Loop]:
    names = sorted(alive)
    records = loop_records(session, names)
    loops = []
    for name in names:
        record = records.get(name)
        pending, idle = consumers.get(name, (0, None))
        if record is None:
            loops.append(Loop(name, alive[name], "", None, (), 0, 0, pending, idle))
            continue
        devices = tuple(sorted({device for _, device in record.served}))
        served = sum(record.served.values())
        loops.append(Loop(name, alive[name], record.worker, record.gpu, devices, served, record.errors, pending, idle))
    return loops


def _runs(session: Session, count_keys: bool) -> list[Run]:
    groups = sorted({m.group(1) for k in _scan(session, "simdask:{runs:*}") if (m := _REGISTRY.match(k))})
    keys: dict[tuple[str, int], int] = {}
    steps: dict[tuple[str, int], set[int]] = {}
    if count_keys:
        for key in _scan(session, "*@*"):
            match = _RUN_KEY.match(key)
            if match is None or key.startswith("simdask:"):
                continue
            run = (match.group(1), int(match.group(2)))
            keys[run] = keys.get(run, 0) + 1
            numbers = _NUMBER.findall(match.group(3))
            if numbers:
                steps.setdefault(run, set()).add(int(numbers[-1]))
    runs: list[Run] = []
    for group in groups:
        registry = registry_key(group)
        last = int(session.transport.execute(registry, "HGET", registry, "seq") or 0)
        for number in range(max(1, last - RUNS_PER_GROUP + 1), last + 1):
            try:
                info = run_info(session, group, number)
            except RunNotFoundError:  # a malformed registry entry: not shown, never the end of the dashboard
                continue
            if info is None:
                continue
            seen = steps.get((group, number), set())
            runs.append(
                Run(
                    group,
                    number,
                    info.run_id,
                    info.state,
                    info.writers,
                    info.ended,
                    info.began,
                    keys.get((group, number), 0) if count_keys else None,
                    len(seen) if count_keys else None,
                    max(seen) if seen else None,
                )
            )
    return runs


def take_snapshot(client: Client, *, scan_limit: int = SCAN_LIMIT) -> Snapshot:
    """Read everything the dashboard shows from the store of ``client`` (a few round trips per shard)."""
    session = client.session
    shards = [_shard(client, node) for node in session.transport.nodes()]
    streams, consumers, alive = _streams_and_leases(session)
    served, models = _inference(session)
    count_keys = sum(s.keys for s in shards) <= scan_limit
    return Snapshot(
        time.time(),
        client.address,
        client.is_cluster,
        shards,
        streams,
        served,
        models,
        _loops(session, consumers, alive),
        _runs(session, count_keys),
        count_keys,
    )


def shard_totals(shards: Sequence[Shard], commands: Sequence[str]) -> int:
    """Calls of ``commands`` summed over ``shards``."""
    return sum(s.commands.get(c, 0) for s in shards for c in commands)
