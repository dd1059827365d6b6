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
from ..protocol import ModelSpec, RunRequest, Session, tensors
from ..protocol.models import inspect_specs, read_blob
from ..protocol.requests import (
    GPU_STREAM,
    GROUP,
    REPLY_TTL_S,
    REQUEST_STREAM,
    drop_loops,
    mark_loops_alive,
)
from ..protocol.runs import plain_key
from ..transport import ErrorReply, Request, check_transaction
from .backends import Runner, load_runner
from .batching import join_inputs, plan_batches, split_outputs
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
_END_LEASE_S = 0.5  # a stopping loop's try at ending its lease (a store that is away: the lease runs out)


def stop_key(server_id: str) -> str:
    """The key that tells every loop of one server to finish."""
    return f"simdask:serving:{{{server_id}}}:stop"


def ensure_groups(session: Session) -> None:
    """Create the consumer group on the request streams (idempotent)."""
    for stream in (REQUEST_STREAM, GPU_STREAM):
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
    not grow with every start and stop of a server, and their leases end.
    """
    drop_loops(session, consumers)
    transport = session.transport
    handed = 0
    for stream in (REQUEST_STREAM, GPU_STREAM):
        for consumer in consumers:
            while True:
                pending = transport.execute(stream, "XPENDING", stream, GROUP, "-", "+", 1000, consumer)
                ids = [entry[0] for entry in pending or []]
                if not ids:
                    break
                transport.execute(stream, "XCLAIM", stream, GROUP, HANDOVER_CONSUMER, 0, *ids, "IDLE", 2**31, "JUSTID")
                handed += len(ids)
            transport.execute(stream, "XGROUP", "DELCONSUMER", stream, GROUP, consumer)
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


class _Lease:
    """A loop's lease in the store (``LOOPS_KEY``), renewed every ``lease_ms / 4`` by a thread of its own,
    so that a loop busy in a long model run stays alive; ended when the block is left, or when the stop
    key appears (a loop stuck in a model run that never returns is not alive for new requests)."""

    def __init__(self, session: Session, consumer: str, lease_ms: int, stop: str) -> None:
        self.session = session
        self.consumer = consumer
        self.lease_ms = lease_ms
        self.stop_key = stop
        self._lock = threading.Lock()  # a renewal and the end never cross: nothing renews an ended lease
        self._ended = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"simdask-lease-{consumer}", daemon=True)

    def renew(self) -> None:
        """Renew the lease now (unless it ended); a store that cannot be reached is tried at the next beat."""
        with self._lock:
            if self._ended:
                return
            try:
                with self.session.limit(self.lease_ms / 2000):
                    mark_loops_alive(self.session, [self.consumer], self.lease_ms)
            except SimdaskError as exc:
                log.debug("%s: renewing its lease failed: %s", self.consumer, exc)

    def end(self) -> None:
        """End the lease in the store, once; it is not renewed after this."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            try:
                with self.session.limit(_END_LEASE_S):
                    drop_loops(self.session, [self.consumer])
            except SimdaskError as exc:  # the lease ends by itself
                log.debug("%s: ending its lease failed: %s", self.consumer, exc)

    def _beat(self) -> None:
        while not self._wake.wait(self.lease_ms / 4000) and not self._ended:
            try:
                with self.session.limit(self.lease_ms / 2000):
                    told = self.session.transport.execute(self.stop_key, "EXISTS", self.stop_key)
            except SimdaskError as exc:
                log.debug("%s: looking for its stop key failed: %s", self.consumer, exc)
                told = False
            if told:
                self.end()
                return
            self.renew()

    def __enter__(self) -> _Lease:
        self.renew()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wake.set()
        self.end()


@dataclass
class _Waiting:
    """Requests held for a model until ``min_batch_size`` rows arrived or its timeout passed."""

    requests: list[RunRequest] = field(default_factory=list)
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
        self.streams = [GPU_STREAM, REQUEST_STREAM] if settings.gpu else [REQUEST_STREAM]
        self.worker = _worker_name()
        self.served = 0
        self._runners: dict[tuple[str, str], tuple[tuple[int, Any], Runner]] = {}  # (version, stored id), runner
        self._waiting: dict[str, _Waiting] = {}
        self._draining = False
        self._lease = _Lease(self.session, settings.consumer, settings.lease_ms, stop_key(settings.server_id))

    # -- the loop ----------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Serve until the stop key appears, holding the loop's lease meanwhile; returns what it served."""
        with self._lease:
            return self._run()

    def _run(self) -> dict[str, Any]:
        last_claim = last_stop_check = 0.0
        failures = 0
        grouped = False
        while True:
            try:
                if not grouped:
                    ensure_groups(self.session)
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
        if any(held.requests for held in self._waiting.values()):
            self.dispatch([])

    def _block_ms(self, now: float) -> int:
        block = self.settings.block_ms
        for held in self._waiting.values():
            if held.requests:
                block = min(block, max(1, int((held.since + held.timeout_s - now) * 1000)))
        return block

    def _read(self, block_ms: int) -> list[RunRequest]:
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
        reply = self.transport.run([Request(REQUEST_STREAM, [command])], timeout=block_ms / 1000 + 30)[0]
        if isinstance(reply, ErrorReply):
            if reply.startswith("NOGROUP"):
                ensure_groups(self.session)  # the stream was deleted (e.g. FLUSHALL): recreate it ...
                self._lease.renew()  # ... and the lease with it
                return []
            raise ResponseError(f"reading run requests at {self.transport.node_for(REQUEST_STREAM)}: {reply}")
        return [r for stream, entries in (reply or []) for r in self._parse(stream.decode(), entries)]

    def _claim(self) -> list[RunRequest]:
        claimed: list[RunRequest] = []
        for stream in self.streams:
            reply = self.transport.execute(
                stream,
                "XAUTOCLAIM",
                stream,
                GROUP,
                self.settings.consumer,
                self.settings.claim_idle_ms,
                "0-0",
                "COUNT",
                self.settings.read_count,
            )
            if reply[1]:
                log.info("%s claimed %d requests a silent serving loop held", self.settings.consumer, len(reply[1]))
            claimed += self._parse(stream, [e for e in reply[1] if e])
        return claimed

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
        """Run what can run now; hold requests of models waiting for ``min_batch_size``."""
        groups: dict[tuple[str, str], list[RunRequest]] = {}
        for request in requests:
            groups.setdefault((request.kind, request.name), []).append(request)
        for name, held in self._waiting.items():
            if held.requests:
                groups.setdefault(("model", name), [])
        specs = self._specs(list(groups))
        for (kind, name), group in groups.items():
            try:
                self._dispatch_group(kind, name, group, specs[(kind, name)])
            except (StoreConnectionError, StoreTimeoutError):
                raise  # nothing can be answered now: the requests stay pending and are claimed again
            except Exception as exc:  # whatever a request or a stored value held: answer, never die of it
                waiting = self._waiting.pop(name, _Waiting()).requests if kind == "model" else []
                log.warning("%s: %s %r failed: %s", self.settings.consumer, kind, name, exc)
                text = _error_text(exc)
                label = f"{kind} {name!r}"
                message = f"ERR {text}" if label in text else f"ERR {label}: {text}"
                unanswered = {(r.stream, r.entry_id): r for r in [*waiting, *group]}
                self._reply([(r, message) for r in unanswered.values()])

    def _dispatch_group(
        self, kind: str, name: str, group: list[RunRequest], spec: ModelSpec | SimdaskError | None
    ) -> None:
        if spec is None:
            message = f"ERR {kind} {name!r} does not exist in the store (store it first: set_{kind})"
            self._reply([(r, message) for r in group])
        elif isinstance(spec, SimdaskError):
            raise spec
        elif spec.on_gpu and not self.settings.gpu:
            self._not_here(spec, group)
        elif kind == "model" and spec.batch_size > 0 and spec.min_batch_size > 0:
            self._hold_or_run(name, spec, group)
        else:
            self._process(spec, group)

    def _specs(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], ModelSpec | SimdaskError | None]:
        found: dict[tuple[str, str], ModelSpec | SimdaskError | None] = {}
        for kind in ("model", "script"):
            names = [n for k, n in keys if k == kind]
            if names:
                found.update({(kind, n): s for n, s in zip(names, inspect_specs(self.session, kind, names))})
        return found

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

    def _hold_or_run(self, name: str, spec: ModelSpec, group: list[RunRequest]) -> None:
        held = self._waiting.setdefault(name, _Waiting())
        held.timeout_s = (spec.min_batch_timeout or self.settings.default_min_batch_timeout_ms) / 1000
        if group:
            infos = tensors.tensor_infos(self.session, [r.inputs[0] for r in group if r.inputs], missing_ok=True)
            held.rows += sum(i.shape[0] if i is not None and i.ndim else 1 for i in infos)
            if not held.requests:
                held.since = time.monotonic()
            held.requests += group
        full = held.rows >= spec.min_batch_size or time.monotonic() - held.since >= held.timeout_s
        if held.requests and (full or self._draining):
            ready, self._waiting[name] = held.requests, _Waiting()
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

    def _process(self, spec: ModelSpec, group: list[RunRequest]) -> None:
        try:
            runner = self._runner(spec)
        except (StoreConnectionError, StoreTimeoutError):
            raise
        except Exception as exc:  # unreadable model, backend missing, model that does not load or is refused
            text = _error_text(exc)
            label = f"{spec.kind} {spec.name!r}"
            self._reply([(r, f"ERR {text}" if label in text else f"ERR {label}: {text}") for r in group])
            return
        if spec.kind == "model" and spec.batch_size > 0:
            self._serve(spec, runner, group)
        else:
            for request in group:  # no batching: every request on its own
                self._serve(spec, runner, [request])

    def _serve(self, spec: ModelSpec, runner: Runner, group: list[RunRequest]) -> None:
        outcome: dict[int, str | list[np.ndarray]] = {}
        inputs = self._read_inputs(group, outcome)
        ready = [i for i in range(len(group)) if i not in outcome]
        batches = plan_batches([inputs[i] for i in ready], spec.batch_size)
        for batch in batches:
            members = [ready[m] for m in batch.members]
            try:
                started = time.perf_counter()
                outputs = runner.run(join_inputs(batch, [inputs[i] for i in ready]), group[members[0]].function)
                elapsed_ms = 1e3 * (time.perf_counter() - started)
                log.debug("%s ran %d requests in %.3f ms", spec.name, len(members), elapsed_ms)
                parts = split_outputs(batch, outputs)
            except Exception as exc:
                outcome.update({m: f"ERR {_error_text(exc)}" for m in members})
                continue
            for member, produced in zip(members, parts):
                wanted = len(group[member].outputs)
                if len(produced) != wanted:
                    outcome[member] = f"ERR the {spec.kind} gave {len(produced)} outputs; the request names {wanted}"
                else:
                    outcome[member] = produced
        self._finish(group, outcome, spec, runner.device, runs=len(batches))

    def _read_inputs(self, group: list[RunRequest], outcome: dict[int, Any]) -> list[list[np.ndarray]]:
        keys = [k for r in group for k in r.inputs]
        try:
            arrays: list[np.ndarray] | None = [
                a for _, a in tensors.get_tensors(self.session, keys, what="reading model input")
            ]
        except (StoreConnectionError, StoreTimeoutError):
            raise
        except Exception:
            arrays = None  # find out which request has the bad input
        inputs: list[list[np.ndarray]] = []
        position = 0
        for index, request in enumerate(group):
            if arrays is not None:
                inputs.append(arrays[position : position + len(request.inputs)])
                position += len(request.inputs)
                continue
            try:
                inputs.append([self._read_input(key) for key in request.inputs])
            except (StoreConnectionError, StoreTimeoutError):
                raise
            except Exception as exc:  # a missing or malformed input: this request's error only
                outcome[index] = f"ERR {_error_text(exc)}"
                inputs.append([])
        return inputs

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
