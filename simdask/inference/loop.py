"""A serving loop: read run requests from the stream, batch them, run them, write outputs, reply.

One loop runs as a long-lived Dask task on a worker (placed by the ``GPU``
resource for GPU models) and talks to the store directly: requests never go
through the Dask scheduler. Each loop loads a model once and keeps it while
its stored version is unchanged. Requests a dead loop held are claimed again
(``XAUTOCLAIM``) after ``claim_idle_ms``, so none is lost.

A loop never dies of what it reads. Every request and every stored model
record is checked inside a handler: one that is not understood (bad JSON, JSON
nested deeper than :data:`~simdask.wire.MAX_JSON_DEPTH`, fields that are not
UTF-8, a model record that is not a valid spec, a model its backend refuses,
inputs that are not tensors) is answered ``ERR <reason>`` when it names a
reply key, and acknowledged and deleted either way. While the store itself
cannot be reached the loop waits and tries again; it stops only when told to
(the stop key, or :func:`cancel_loops`).

While it runs, a loop holds a lease in :data:`~simdask.protocol.requests.LOOPS_KEY`,
renewed by a thread of its own every quarter of ``simdask.inference.loop-lease``
(also while a long model run keeps the loop busy) and ended when the loop stops:
run requests sent while no lease is alive are answered at once that no
inference service runs (``docs/protocol.md``, "Run requests").
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import config
from ..client import Client
from ..errors import KeyNotFoundError, ResponseError, SimdaskError, StoreConnectionError, StoreTimeoutError
from ..locality import node_name
from ..protocol import ModelSpec, RunRequest, Session, tensors
from ..protocol.models import Kind, inspect_specs, read_blob, spec_from_reply, spec_request
from ..protocol.requests import (
    GPU_STREAM,
    GROUP,
    REPLY_TTL_S,
    REQUEST_STREAM,
    drop_loops,
    known_nodes,
    node_stream,
    nodes_without_loops,
)
from ..protocol.runs import plain_key
from ..transport import ErrorReply, Request, check_transaction, read_reply_list
from .backends import Runner, load_runner
from .batching import Batch, join_inputs, plan_batches, split_outputs
from .lease import Lease
from .readahead import ReadAhead
from .stats import answer_records

__all__ = [
    "HANDOVER_CONSUMER",
    "LoopSettings",
    "ServingLoop",
    "STATS_KEY",
    "cancel_loops",
    "ensure_groups",
    "release_consumers",
    "run_serving_loop",
    "stop_key",
]

log = logging.getLogger("simdask.inference")

#: Hash counting served requests per ``kind:name|device|worker``.
STATS_KEY = "simdask:inference:stats"
#: The consumer that holds the pending requests of stopped loops until a running loop claims them.
HANDOVER_CONSUMER = "simdask-handover"
_MAX_MESSAGE = 2000
_STOP_CHECK_S = 0.2
_MAX_STORE_PAUSE_S = 2.0  # longest wait between attempts while the store cannot be reached


def stop_key(server_id: str) -> str:
    """The key that tells every loop of one server to finish."""
    return f"simdask:serving:{{{server_id}}}:stop"


def ensure_groups(session: Session, node: str = "") -> None:
    """Create the consumer group on the request streams (idempotent), also on ``node``'s stream when given."""
    for stream in (REQUEST_STREAM, GPU_STREAM, *([node_stream(node)] if node else [])):
        try:
            session.transport.execute(stream, "XGROUP", "CREATE", stream, GROUP, "0", "MKSTREAM")
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def release_consumers(session: Session, consumers: list[str]) -> int:
    """Hand the pending requests of ``consumers`` over and delete them from the group; returns how many
    requests were handed over.

    Pending requests are claimed by :data:`HANDOVER_CONSUMER` with an idle
    time so long that the next ``XAUTOCLAIM`` of any running loop takes them;
    then ``XGROUP DELCONSUMER`` removes each consumer, so that the group does
    not grow with every start and stop of a server, and their leases end (also on every node's stream).
    """
    nodes = known_nodes(session)
    drop_loops(session, consumers, nodes)
    transport = session.transport
    handed = 0
    for stream in (REQUEST_STREAM, GPU_STREAM, *map(node_stream, nodes)):
        for consumer in consumers:
            try:
                while True:
                    pending = transport.execute(stream, "XPENDING", stream, GROUP, "-", "+", 1000, consumer)
                    ids = [entry[0] for entry in pending or []]
                    if not ids:
                        break
                    transport.execute(
                        stream, "XCLAIM", stream, GROUP, HANDOVER_CONSUMER, 0, *ids, "IDLE", 2**31, "JUSTID"
                    )
                    handed += len(ids)
                transport.execute(stream, "XGROUP", "DELCONSUMER", stream, GROUP, consumer)
            except ResponseError as exc:  # NOGROUP: a stream deleted meanwhile (a flush), nothing pending there
                if "NOGROUP" not in str(exc):
                    raise
    return handed


# -- loops of this process, so that a busy one can be cancelled ---------------------------------
_LOOPS: dict[str, int] = {}  # consumer -> thread ident
_LOADING: set[str] = set()  # consumers loading a model: not to be interrupted (an import cut short poisons it)
_CANCELLED: set[str] = set()  # consumers to stop as soon as their load is done
_LOOPS_LOCK = threading.Lock()


@contextmanager
def _registered(consumer: str) -> Iterator[None]:
    with _LOOPS_LOCK:
        _LOOPS[consumer] = threading.get_ident()
    try:
        yield
    finally:
        with _LOOPS_LOCK:
            _LOOPS.pop(consumer, None)
            _CANCELLED.discard(consumer)


@contextmanager
def _uninterrupted(consumer: str) -> Iterator[None]:
    """A model load that :func:`cancel_loops` does not cut short: a library import interrupted halfway (torch)
    stays half-initialized in the process, and every later load there fails. A cancel during the load stops
    the loop right after it."""
    with _LOOPS_LOCK:
        _LOADING.add(consumer)
    try:
        yield
    finally:
        with _LOOPS_LOCK:
            _LOADING.discard(consumer)
            cancelled = consumer in _CANCELLED
    if cancelled:
        raise SystemExit


def cancel_loops(consumers: list[str]) -> list[str]:
    """Stop the serving loops of ``consumers`` running in this process at once; returns those found.

    Each one gets ``SystemExit`` raised in its thread: at its next Python
    instruction (at once, or when a model run in C returns) it ends without
    answering anything more; one loading a model ends when the load is done.
    Runs on the workers (``dask_client.run``).
    """
    found = []
    with _LOOPS_LOCK:
        for consumer in consumers:
            ident = _LOOPS.get(consumer)
            if ident is None:
                continue
            if consumer in _LOADING:
                _CANCELLED.add(consumer)
            else:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(SystemExit))
            found.append(consumer)
    return found


def _config_int(name: str, scale: int = 1) -> int:
    """The setting ``simdask.inference.<name>`` as an int (times ``scale``), read when the settings are made."""
    return int(scale * float(config.get(f"inference.{name}")))


@dataclass(frozen=True)
class LoopSettings:
    """How one serving loop behaves; unset defaults come from the ``simdask.inference`` config."""

    server_id: str
    consumer: str
    gpu: bool = False  # this loop serves GPU models (and reads the GPU stream)
    gpu_service: bool = False  # some loop of the server serves GPU models
    read_count: int = field(default_factory=lambda: _config_int("read-count"))
    claim_idle_ms: int = field(default_factory=lambda: _config_int("claim-idle", scale=1000))
    default_min_batch_timeout_ms: int = field(default_factory=lambda: _config_int("default-min-batch-timeout"))
    lease_ms: int = field(default_factory=lambda: _config_int("loop-lease", scale=1000))
    block_ms: int = 50  # longest wait for new requests between looks at the stop key

    def __post_init__(self) -> None:
        if self.lease_ms < 100:
            raise ValueError(
                f"a serving loop's lease (simdask.inference.loop-lease) must be >= 0.1 s, got {self.lease_ms} ms"
            )


@dataclass
class _Job:
    """A run request and its inputs: ``None`` until they are read, then the arrays or why they could not be
    read (``ERR ...``)."""

    request: RunRequest
    inputs: list[np.ndarray] | str | None = None

    @property
    def rows(self) -> int:
        """Rows it adds to a batch (its first input's first dimension; 1 when that is not known)."""
        first = self.inputs[0] if isinstance(self.inputs, list) and self.inputs else None
        return first.shape[0] if first is not None and first.ndim else 1


@dataclass
class _Waiting:
    """Requests held for a model until ``min_batch_size`` rows arrived or its timeout passed."""

    jobs: list[_Job] = field(default_factory=list)
    rows: int = 0
    since: float = 0.0
    timeout_s: float = 0.0


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid-{os.getpid()}"


def _error_text(exc: BaseException) -> str:
    """One line saying what failed, then (for TorchScript) the traceback, within ``_MAX_MESSAGE``."""
    text = f"{type(exc).__name__}: {exc}" if not isinstance(exc, SimdaskError) else str(exc)
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) > 1:  # TorchScript puts the actual error last, after its traceback
        text = f"{lines[-1].strip()}\n{text}"
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + " ..."


class ServingLoop:
    """Serve run requests until the server's stop key appears."""

    def __init__(self, client: Client, settings: LoopSettings) -> None:
        self.settings = settings
        self.session = client.session
        self.transport = client.session.transport
        self.node = node_name()  # callers on this node send here first (docs/protocol.md, "Run requests")
        self.streams = [node_stream(self.node), *([GPU_STREAM] if settings.gpu else []), REQUEST_STREAM]
        self.worker = _worker_name()
        self.served = 0
        self._runners: dict[tuple[str, str], tuple[tuple[int, Any], Runner]] = {}  # (version, stored id), runner
        self._seen: dict[tuple[str, str], tuple[Any, ModelSpec]] = {}  # settings last read: (their bytes, spec)
        self._waiting: dict[str, _Waiting] = {}
        self._draining = False
        self._ahead = ReadAhead(self.transport)
        self._lease = Lease(self.session, settings.consumer, settings.lease_ms, stop_key(settings.server_id), self.node)

    # -- the loop ----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Serve until the stop key appears, holding the loop's lease meanwhile; returns what it served."""
        try:  # the groups first: the lease sends this node's callers to its stream
            ensure_groups(self.session, self.node)
        except SimdaskError as exc:  # the store is away: serving makes them once it is back
            log.debug("%s: creating the consumer groups failed: %s", self.settings.consumer, exc)
        with self._lease:
            return self._run()

    def _run(self) -> dict[str, Any]:
        last_claim = last_stop_check = 0.0
        failures = 0
        grouped = False
        while True:
            try:
                if not grouped:
                    ensure_groups(self.session, self.node)
                    grouped = True
                now = time.monotonic()
                if now - last_stop_check >= _STOP_CHECK_S:
                    key = stop_key(self.settings.server_id)
                    if self.transport.execute(key, "EXISTS", key):
                        self._drain()
                        break
                    last_stop_check = now
                requests = self._read(self._block_ms(now))
                if now - last_claim >= self.settings.claim_idle_ms / 2000:
                    requests += self._claim()
                    last_claim = now
                self.dispatch(requests)
                failures = 0
            except (StoreConnectionError, StoreTimeoutError) as exc:  # the store is away: wait for it
                failures += 1
                pause = min(_MAX_STORE_PAUSE_S, 0.05 * 2**failures)
                log.warning(
                    "%s cannot reach the store (%s); trying again in %.2f s", self.settings.consumer, exc, pause
                )
                time.sleep(pause)
            except Exception:  # a fault of this loop's own: never let it end the service
                log.exception("%s: unexpected error while serving; going on", self.settings.consumer)
                time.sleep(0.05)
        return {"consumer": self.settings.consumer, "worker": self.worker, "served": self.served}

    def _drain(self) -> None:
        """Told to stop: run the requests still held for a batch to fill up, at once."""
        self._draining = True
        if any(held.jobs for held in self._waiting.values()):
            self.dispatch([])

    def _block_ms(self, now: float) -> int:
        block = self.settings.block_ms
        for held in self._waiting.values():
            if held.jobs:
                block = min(block, max(1, int((held.since + held.timeout_s - now) * 1000)))
        return block

    def _read(self, block_ms: int, read_ahead: bool = True) -> list[RunRequest]:
        """The requests that arrived within ``block_ms``, with the reads of
        :class:`~simdask.inference.readahead.ReadAhead` pipelined behind the blocking read."""
        stream_ids = [">"] * len(self.streams)
        command = (
            "XREADGROUP",
            "GROUP",
            GROUP,
            self.settings.consumer,
            "COUNT",
            self.settings.read_count,
            "BLOCK",
            block_ms,
            "STREAMS",
            *self.streams,
            *stream_ids,
        )
        ahead = self._ahead.commands() if read_ahead else []
        read = Request(REQUEST_STREAM, [command, *ahead], self._ahead.reader(ahead) if ahead else None)
        reply = self.transport.run([read], timeout=block_ms / 1000 + 30)[0]
        reply, values = reply if ahead else (reply, [])
        if isinstance(reply, ErrorReply) and ahead:  # the plain read follows redirections and retries
            self._ahead.take(ahead, [], [])
            return self._read(block_ms, read_ahead=False)
        if isinstance(reply, ErrorReply):
            if reply.startswith("NOGROUP"):
                ensure_groups(self.session, self.node)  # the stream was deleted (e.g. FLUSHALL): recreate it ...
                self._lease.renew()  # ... and the lease with it
                return []
            raise ResponseError(f"reading run requests at {self.transport.node_for(REQUEST_STREAM)}: {reply}")
        requests = [r for stream, entries in (reply or []) for r in self._parse(stream.decode(), entries)]
        self._ahead.take(ahead, values, requests)
        return requests

    def _claim(self) -> list[RunRequest]:
        """Requests to serve that no live loop will: those a silent loop held for ``claim_idle_ms`` on this
        loop's streams (``XAUTOCLAIM``), and on the stream of each node where no loop is alive any more, its
        held requests and those no loop read yet. Two round trips."""
        orphans = self._orphan_streams()
        streams = self.streams + orphans
        settings = self.settings
        commands: list[tuple[Any, ...]] = [
            ("XAUTOCLAIM", s, GROUP, settings.consumer, settings.claim_idle_ms, "0-0", "COUNT", settings.read_count)
            for s in streams
        ]
        if orphans:
            read = ("XREADGROUP", "GROUP", GROUP, settings.consumer, "COUNT", settings.read_count, "STREAMS")
            commands.append((*read, *orphans, *[">"] * len(orphans)))
        request = Request(REQUEST_STREAM, commands, read_reply_list(len(commands)))
        replies = self.transport.run([request])[0]
        claimed: list[RunRequest] = []
        for stream, reply in zip(streams, replies):
            if isinstance(reply, ErrorReply):
                if stream in orphans:  # deleted meanwhile: nothing to claim
                    continue
                raise ResponseError(f"claiming run requests of {stream} at {self.transport.node_for(stream)}: {reply}")
            if reply[1]:
                log.info("%s claimed %d requests a silent serving loop held", settings.consumer, len(reply[1]))
            claimed += self._parse(stream, [e for e in reply[1] if e])
        unread = replies[len(streams)] if orphans else None
        if unread and not isinstance(unread, ErrorReply):
            log.info("%s serves requests sent to nodes without a serving loop: %d", settings.consumer, len(unread))
            claimed += [r for stream, entries in unread for r in self._parse(stream.decode(), entries)]
        return claimed

    def _orphan_streams(self) -> list[str]:
        """The streams of the other nodes where no serving loop is alive."""
        return [node_stream(node) for node in nodes_without_loops(self.session) if node != self.node]

    def _parse(self, stream: str, entries: list[Any]) -> list[RunRequest]:
        requests = []
        for entry in entries:
            try:
                entry_id, fields = entry[0].decode("ascii"), entry[1]
            except Exception:  # not an entry at all: nothing to answer or acknowledge
                log.error("%s: unreadable stream entry %.200r", self.settings.consumer, entry)
                continue
            if fields is None:  # deleted while pending
                continue
            try:
                requests.append(RunRequest.from_entry(stream, entry_id, fields))
            except Exception as exc:  # RequestFormatError, or anything unforeseen: refuse the entry
                reply = getattr(exc, "reply", None) or ""
                bad = RunRequest("model", "?", (), (), reply, "", entry_id, stream)
                log.warning("%s refused request %s: %s", self.settings.consumer, entry_id, exc)
                self._reply([(bad, f"ERR {_error_text(exc)}")])
        return requests

    # -- dispatching ---------------------------------------------------------------

    def dispatch(self, requests: list[RunRequest]) -> None:
        """Run what can run now; hold requests of models waiting for ``min_batch_size``.

        Requests for a model that batches are read, run and answered together;
        the others one by one (``batch_size=0``: the model takes one request at
        a time). Each unit costs two round trips: the model's settings and the
        inputs in one pipeline, then the outputs and the answers in one
        transaction; one, when the read ahead of the blocking read
        (:class:`~simdask.inference.readahead.ReadAhead`) holds them all.
        """
        groups: dict[tuple[Kind, str], list[RunRequest]] = {}
        for request in requests:
            groups.setdefault((request.kind, request.name), []).append(request)
        for name, held in self._waiting.items():
            if held.jobs:
                groups.setdefault(("model", name), [])
        for (kind, name), group in groups.items():
            seen = self._seen.get((kind, name))
            together = kind == "model" and seen is not None and seen[1].batch_size > 0
            for unit in [group] if together or not group else [[r] for r in group]:
                try:
                    self._dispatch_unit(kind, name, unit)
                except (StoreConnectionError, StoreTimeoutError):
                    raise  # nothing can be answered now: the requests stay pending and are claimed again
                except Exception as exc:  # whatever a request or a stored value held: answer, never die of it
                    waiting = self._waiting.pop(name, _Waiting()).jobs if kind == "model" else []
                    log.warning("%s: %s %r failed: %s", self.settings.consumer, kind, name, exc)
                    text = _error_text(exc)
                    label = f"{kind} {name!r}"
                    message = f"ERR {text}" if label in text else f"ERR {label}: {text}"
                    unanswered = {(r.stream, r.entry_id): r for r in [*(j.request for j in waiting), *unit]}
                    self._reply([(r, message) for r in unanswered.values()])

    def _dispatch_unit(self, kind: Kind, name: str, requests: list[RunRequest]) -> None:
        spec, jobs = self._fetch(kind, name, requests)
        if isinstance(spec, SimdaskError):
            raise spec
        here = spec is not None and not (spec.on_gpu and not self.settings.gpu)
        holds = here and spec is not None and kind == "model" and spec.batch_size > 0 and spec.min_batch_size > 0
        if kind == "model" and not holds and name in self._waiting:  # the model changed: what it held goes too
            jobs = self._waiting.pop(name).jobs + jobs
        if spec is None:
            message = f"ERR {kind} {name!r} does not exist in the store (store it first: set_{kind})"
            self._reply([(j.request, message) for j in jobs])
        elif not here:
            self._not_here(spec, [j.request for j in jobs])
        elif holds:
            self._hold_or_run(name, spec, jobs)
        else:
            self._process(spec, jobs)

    def _fetch(
        self, kind: Kind, name: str, requests: list[RunRequest]
    ) -> tuple[ModelSpec | SimdaskError | None, list[_Job]]:
        """The model's settings and the requests' inputs, in one pipelined round trip (none for what was read
        ahead with the requests).

        The settings are read each time, so that a model stored again is
        loaded again; decoding them is skipped while their bytes are those
        seen last. Inputs of a model this loop hands to the GPU loops (as its
        settings said last) are not read. A settings record or an input the
        pipelined read does not settle (missing, chunked, not understood) is
        read again on its own, which says what it is.
        """
        seen = self._seen.get((kind, name))
        skip = seen is not None and seen[1].on_gpu and not self.settings.gpu
        ahead = [{} if skip else self._ahead.inputs(r) for r in requests]
        keys = [] if skip else list(dict.fromkeys(k for r, a in zip(requests, ahead) for k in r.inputs if k not in a))
        head = self._ahead.settings(kind, name, requests)
        pipeline = [*([spec_request(kind, name)] if head is None else []), *tensors.get_requests(keys)]
        replies = self.transport.run(pipeline) if pipeline else []
        if head is None:
            head, *replies = replies
        read = dict(zip(keys, replies))
        spec: ModelSpec | SimdaskError | None
        if seen is not None and seen[0] == head:
            spec = seen[1]
        else:
            spec = spec_from_reply(kind, name, head)
            if spec is None:
                spec = inspect_specs(self.session, kind, [name])[0]
            if isinstance(spec, ModelSpec):
                self._seen[(kind, name)] = (head, spec)
            else:
                self._seen.pop((kind, name), None)
        if skip:
            return spec, [_Job(request) for request in requests]
        jobs = [_Job(r, self._inputs(r, [at.get(k, read.get(k)) for k in r.inputs])) for r, at in zip(requests, ahead)]
        return spec, jobs

    def _inputs(self, request: RunRequest, replies: list[Any]) -> list[np.ndarray] | str:
        """A request's inputs from the replies of their reads, or its error (``ERR ...``); an input the
        replies do not hold (missing, chunked, an error) is read on its own."""
        arrays = []
        try:
            for key, reply in zip(request.inputs, replies):
                found = tensors.tensor_from_reply(key, reply)
                arrays.append(self._read_input(key) if found is None else found[1])
        except (StoreConnectionError, StoreTimeoutError):
            raise
        except Exception as exc:  # a missing or malformed input: this request's error only
            return f"ERR {_error_text(exc)}"
        return arrays

    def _not_here(self, spec: ModelSpec, group: list[RunRequest]) -> None:
        if self.settings.gpu_service:  # hand them to the GPU loops, atomically with the acknowledgement
            commands: list[tuple[Any, ...]] = [("MULTI",)]
            for r in group:
                commands += [
                    ("XADD", GPU_STREAM, "*", *r.fields()),
                    ("XACK", r.stream, GROUP, r.entry_id),
                    ("XDEL", r.stream, r.entry_id),
                ]
            commands.append(("EXEC",))
            check_transaction(self.transport.run([Request(REQUEST_STREAM, commands)])[0], "handing GPU requests on")
            return
        message = f"ERR {spec.kind} declared for {spec.device} but this inference service has no GPU worker"
        self._reply([(r, message) for r in group])

    def _hold_or_run(self, name: str, spec: ModelSpec, jobs: list[_Job]) -> None:
        held = self._waiting.setdefault(name, _Waiting())
        held.timeout_s = (spec.min_batch_timeout or self.settings.default_min_batch_timeout_ms) / 1000
        if jobs:
            held.rows += sum(job.rows for job in jobs)
            if not held.jobs:
                held.since = time.monotonic()
            held.jobs += jobs
        full = held.rows >= spec.min_batch_size or time.monotonic() - held.since >= held.timeout_s
        if held.jobs and (full or self._draining):
            ready, self._waiting[name] = held.jobs, _Waiting()
            self._process(spec, ready)

    # -- running ---------------------------------------------------------------------

    def _runner(self, spec: ModelSpec) -> Runner:
        key = (spec.kind, spec.name)
        cached = self._runners.get(key)
        if cached is not None and cached[0] == (spec.version, spec.extra.get("stored")):
            return cached[1]
        fresh_spec, blob = read_blob(self.session, spec.kind, spec.name)
        with _uninterrupted(self.settings.consumer):
            runner = load_runner(fresh_spec, blob, spec.name)
        self._runners[key] = ((fresh_spec.version, fresh_spec.extra.get("stored")), runner)
        log.info(
            "%s loaded %s %r version %d on %s",
            self.settings.consumer,
            spec.kind,
            spec.name,
            fresh_spec.version,
            runner.device,
        )
        return runner

    def _process(self, spec: ModelSpec, jobs: list[_Job]) -> None:
        try:
            runner = self._runner(spec)
        except (StoreConnectionError, StoreTimeoutError):
            raise
        except Exception as exc:  # unreadable model, backend missing, model that does not load or is refused
            text = _error_text(exc)
            label = f"{spec.kind} {spec.name!r}"
            self._reply([(j.request, f"ERR {text}" if label in text else f"ERR {label}: {text}") for j in jobs])
            return
        if spec.kind == "model" and spec.batch_size > 0:
            self._serve(spec, runner, jobs)
        else:
            for job in jobs:  # no batching: every request on its own
                self._serve(spec, runner, [job])

    def _serve(self, spec: ModelSpec, runner: Runner, jobs: list[_Job]) -> None:
        outcome: dict[int, str | list[np.ndarray]] = {}
        inputs: list[list[np.ndarray]] = []
        ready: list[int] = []
        for index, job in enumerate(jobs):
            read = self._inputs(job.request, [None] * len(job.request.inputs)) if job.inputs is None else job.inputs
            if isinstance(read, str):
                outcome[index] = read
            else:
                inputs.append(read)
                ready.append(index)
        if ready:  # the next request most likely needs what the last one did
            self._ahead.plan(jobs[ready[-1]].request, inputs[-1])
        runs = 0
        for batch in plan_batches(inputs, spec.batch_size):
            members = [ready[m] for m in batch.members]
            results, count = self._run_batch(spec, runner, batch, inputs, jobs[members[0]].request.function)
            runs += count
            for member, produced in zip(members, results):
                wanted = len(jobs[member].request.outputs)
                if isinstance(produced, str):
                    outcome[member] = produced
                elif len(produced) != wanted:
                    outcome[member] = f"ERR the {spec.kind} gave {len(produced)} outputs; the request names {wanted}"
                else:
                    outcome[member] = produced
        self._finish([job.request for job in jobs], outcome, spec, runner.device, runs=runs)

    def _run_batch(
        self, spec: ModelSpec, runner: Runner, batch: Batch, inputs: list[list[np.ndarray]], function: str
    ) -> tuple[list[list[np.ndarray] | str], int]:
        """Each member's outputs (or ``ERR ...``), and how many model runs that took. A batch whose run raises
        is run again one request at a time, so that a request whose inputs make the model throw fails alone."""
        try:
            started = time.perf_counter()
            outputs = runner.run(join_inputs(batch, inputs), function)
            elapsed_ms = 1e3 * (time.perf_counter() - started)
            log.debug("%s ran %d requests in %.3f ms", spec.name, len(batch.members), elapsed_ms)
        except Exception as exc:
            if len(batch.members) == 1:
                return [f"ERR {_error_text(exc)}"], 1
            results: list[list[np.ndarray] | str] = []
            for member, rows in zip(batch.members, batch.rows):
                alone, _ = self._run_batch(spec, runner, Batch([member], [rows]), inputs, function)
                results += alone
            return results, 1 + len(batch.members)
        try:
            return list(split_outputs(batch, outputs)), 1
        except ValueError as exc:  # outputs that do not map rows to rows: the model cannot take batches
            return [f"ERR {_error_text(exc)}"] * len(batch.members), 1

    def _read_input(self, key: str) -> np.ndarray:
        """One input; a missing run-scoped one is read at its plain key (a caller in no run wrote it there)."""
        try:
            return tensors.get_tensors(self.session, [key], what="reading model input")[0][1]
        except KeyNotFoundError:
            plain = plain_key(key)
            if plain is None:
                raise
            try:
                return tensors.get_tensors(self.session, [plain], what="reading model input")[0][1]
            except KeyNotFoundError:
                raise KeyNotFoundError(f"model input {key!r} does not exist (nor {plain!r})") from None

    def _finish(
        self, group: list[RunRequest], outcome: dict[int, Any], spec: ModelSpec, device: str, runs: int
    ) -> None:
        """Store the outputs, then answer every request (OK or its error) and acknowledge it.

        On one server, outputs and answers go in one transaction: a caller that
        reads ``OK`` finds its outputs, and a refused write (a full store)
        leaves nothing half done. In a cluster, outputs are written first.
        """
        encoded: list[tensors.EncodedTensor] = []
        for i in [i for i, o in outcome.items() if not isinstance(o, str)]:
            try:
                encoded += [
                    tensors.encode_tensor(self.session, key, np.asarray(array))
                    for key, array in zip(group[i].outputs, outcome[i])
                ]
            except Exception as exc:  # an output no tensor can hold (dtype, shape), or a key that cannot be one
                outcome[i] = f"ERR the {spec.kind} gave an output that cannot be stored: {_error_text(exc)}"
        self._ahead.forget([e.key for e in encoded])
        answers = [(group[i], o if isinstance(o, str) else "OK") for i, o in sorted(outcome.items())]
        if not self.transport.is_cluster and not any(e.chunks for e in encoded):
            commands = [("MULTI",), *tensors.head_commands(encoded)]
            commands += [command for _, command in self._answer_commands(answers, spec, device, runs)]
            replies = self.transport.run([Request(REQUEST_STREAM, [*commands, ("EXEC",)])])[0]
            try:
                check_transaction(replies, f"storing the outputs of {spec.kind} {spec.name!r}")
                self.served += sum(1 for _, message in answers if message == "OK")
                return
            except SimdaskError as exc:  # nothing of the transaction happened: answer with the error
                error = f"ERR writing outputs: {_error_text(exc)}"
        else:
            try:
                tensors.put_tensors(self.session, encoded)
                error = ""
            except SimdaskError as exc:
                error = f"ERR writing outputs: {_error_text(exc)}"
        self._reply([(r, error if error and m == "OK" else m) for r, m in answers], spec, device, runs)

    def _answer_commands(
        self, answers: list[tuple[RunRequest, str]], spec: ModelSpec | None, device: str, runs: int
    ) -> list[tuple[str, tuple[Any, ...]]]:
        """(key, command) pairs that answer, acknowledge and count requests.

        The stats hash counts answered requests per ``kind:name|device|worker``
        and model executions per ``runs|kind:name`` (fewer runs than requests:
        batching). Answered requests are deleted from the stream, so that it
        does not grow without bound.
        """
        commands: list[tuple[str, tuple[Any, ...]]] = []
        for request, message in answers:
            if request.reply:
                commands += [
                    (request.reply, ("LPUSH", request.reply, message)),
                    (request.reply, ("EXPIRE", request.reply, REPLY_TTL_S)),
                ]
        for stream in {request.stream for request, _ in answers}:
            ids = [request.entry_id for request, _ in answers if request.stream == stream]
            commands += [(stream, ("XACK", stream, GROUP, *ids)), (stream, ("XDEL", stream, *ids))]
        if spec is not None and answers:
            field_name = f"{spec.kind}:{spec.name}|{device}|{self.worker}"
            commands.append((STATS_KEY, ("HINCRBY", STATS_KEY, field_name, len(answers))))
        if spec is not None and runs:
            commands.append((STATS_KEY, ("HINCRBY", STATS_KEY, f"runs|{spec.kind}:{spec.name}", runs)))
        commands += answer_records(answers, spec, device, self.settings.consumer, self.worker, self.settings.gpu)
        return commands

    def _reply(
        self, answers: list[tuple[RunRequest, str]], spec: ModelSpec | None = None, device: str = "", runs: int = 0
    ) -> None:
        """Answer, acknowledge and count requests in one pipelined round trip."""
        requests = [Request(key, [command]) for key, command in self._answer_commands(answers, spec, device, runs)]
        for reply in self.transport.run(requests):
            if isinstance(reply, ErrorReply):
                log.error("replying to run requests failed: %s", reply)
        self.served += sum(1 for _, message in answers if message == "OK")


def run_serving_loop(client: Client, settings: LoopSettings) -> dict[str, Any]:
    """Entry point of a serving-loop Dask task: leave the worker's thread pool, then serve until stopped
    (the stop key) or cancelled (:func:`cancel_loops`)."""
    try:
        from distributed import secede

        secede()  # a long-running task: the worker keeps its threads for other work
    except (ImportError, ValueError):
        pass  # not inside a Dask worker
    cancelled = {"consumer": settings.consumer, "worker": _worker_name(), "served": None, "cancelled": True}
    try:
        try:
            with _registered(settings.consumer):
                return ServingLoop(client, settings).run()
        except SystemExit:
            return cancelled
    except SystemExit:  # raised by cancel_loops while the handler above ran
        return cancelled
