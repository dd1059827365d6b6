"""Run requests (``docs/protocol.md``, "Run requests"): the stream, the request, the reply.

A caller puts its inputs, then appends ``model <name> inputs <json keys>
outputs <json keys> reply <key>`` (``script <name> function <fn>`` for
scripts) to the stream ``simdask:requests`` with the script
:data:`~.scripts.SUBMIT` and blocks on ``BLPOP <reply key>``; a serving loop
answers ``OK`` or ``ERR <message>``. Serving loops keep a lease in
:data:`LOOPS_KEY`; when none is alive, ``SUBMIT`` answers ``ERR`` itself, so
that a caller with no inference service fails at once instead of waiting for
its timeout. This module holds the names and the encoding of both sides, and
the caller's side of the exchange.

Node routing: a loop on node ``N`` (:func:`~simdask.locality.node_name`) also
holds its lease in :func:`node_loops_key` ``(N)`` and reads
:func:`node_stream` ``(N)`` beside the main stream; ``SUBMIT`` sends a caller's
request to its node's stream while a loop of that node is alive, else to the
main stream that every loop reads. All these keys share the main stream's slot.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import wire
from ..errors import (
    ModelError,
    ModelTimeoutError,
    RequestFormatError,
    StoreConnectionError,
    StoreTimeoutError,
    error_from_reply,
)
from ..locality import node_name
from ..transport import ErrorReply, Request, deadline, read_reply_list
from .models import Kind
from .scripts import LOOP_ALIVE, SUBMIT
from .session import Session

__all__ = [
    "REQUEST_STREAM",
    "GPU_STREAM",
    "GROUP",
    "LOOPS_KEY",
    "NODES_KEY",
    "REPLY_TTL_S",
    "RunRequest",
    "drop_loops",
    "known_nodes",
    "live_loops",
    "loop_nodes",
    "mark_loops_alive",
    "new_reply_key",
    "no_service_message",
    "node_loops_key",
    "node_stream",
    "nodes_without_loops",
    "run_timeout",
    "run_request",
    "parse_reply",
]

#: The stream every client appends run requests to.
REQUEST_STREAM = "simdask:requests"
#: Requests for GPU models that a CPU serving loop handed on; same slot as the main stream.
GPU_STREAM = "simdask:gpu-requests:{simdask:requests}"
#: The consumer group every serving loop reads through.
GROUP = "simdask"
#: Sorted set of the serving loops alive (consumer names), scored by the store time (ms) their lease ends.
LOOPS_KEY = "simdask:loops:{simdask:requests}"
#: Sorted set of the nodes that had serving loops, scored by the store time (ms) the last lease of their loops
#: ends: loops elsewhere serve the stream of a node whose leases all ended.
NODES_KEY = "simdask:nodes:{simdask:requests}"
#: Seconds a reply waits for its caller before the store drops it.
REPLY_TTL_S = 300
#: Seconds the socket waits beyond the ``BLPOP`` timeout, so that the server's own timeout (checked about
#: every 100 ms) answers first; a store that does not answer at all is given up after this.
REPLY_GRACE_S = 0.5
_FIELDS = ("model", "script", "function", "inputs", "outputs", "reply")
_SUBMIT, _LOOP_ALIVE = SUBMIT.encode(), LOOP_ALIVE.encode()  # sent with every request and heartbeat


def no_service_message(address: str) -> str:
    """What a run request is answered when no serving loop is alive: what to start."""
    return (
        f"no inference service is serving the store at {address} (no serving loop is running): start one with "
        "`simdask serve`, simdask.InferenceServer, or a store that runs its own (simdask.Store(serve=N), "
        "`simdask store start --serve N`)"
    )


def node_stream(node: str) -> str:
    """The stream of the run requests sent by callers on ``node`` while a loop of that node is alive."""
    return f"simdask:node-requests:{{{REQUEST_STREAM}}}:{node}"


def node_loops_key(node: str) -> str:
    """The sorted set of the serving loops on ``node``, scored like :data:`LOOPS_KEY`."""
    return f"simdask:node-loops:{{{REQUEST_STREAM}}}:{node}"


def new_reply_key() -> str:
    """A unique reply key on the request stream's shard, so the request and the wait pipeline together."""
    return f"simdask:reply:{{{REQUEST_STREAM}}}:{uuid.uuid4().hex}"


@dataclass(frozen=True)
class RunRequest:
    """One run request: which model or script, which keys in and out, where to reply."""

    kind: Kind
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    reply: str
    function: str = ""
    entry_id: str = ""
    stream: str = REQUEST_STREAM

    def fields(self) -> list[str]:
        """The field/value list of the request's ``XADD``."""
        head = [self.kind, self.name] + (["function", self.function] if self.kind == "script" else [])
        return head + [
            "inputs",
            json.dumps(list(self.inputs)),
            "outputs",
            json.dumps(list(self.outputs)),
            "reply",
            self.reply,
        ]

    @classmethod
    def from_entry(cls, stream: str, entry_id: str, raw_fields: Any) -> RunRequest:
        """Decode a stream entry; raise :class:`RequestFormatError` when it is not a valid request.

        Anything an entry holds is refused with a message (never another
        exception): fields that are not UTF-8, missing or empty names, inputs
        and outputs that are not JSON lists of non-empty strings or nest
        deeper than :data:`~simdask.wire.MAX_JSON_DEPTH`. Unknown fields are
        ignored. The error carries the reply key when one could be read, so
        that the caller can be answered ``ERR``.
        """
        if not isinstance(raw_fields, list) or len(raw_fields) % 2 or not all(isinstance(f, bytes) for f in raw_fields):
            raise RequestFormatError(f"request {entry_id} is not a list of field/value pairs", None)
        fields: dict[str, str] = {}
        undecodable: list[str] = []
        for raw_name, raw_value in zip(raw_fields[::2], raw_fields[1::2]):
            name = raw_name.decode("utf-8", "replace")
            try:
                fields[name] = raw_value.decode("utf-8")
            except UnicodeDecodeError:
                undecodable.append(name)
        reply = fields.get("reply") or None
        if undecodable:
            known = [n for n in undecodable if n in _FIELDS] or undecodable
            raise RequestFormatError(f"request {entry_id}: field(s) {known} are not UTF-8", reply)
        kind: Kind = "model" if "model" in fields else "script"
        name = fields.get(kind, "")
        function = fields.get("function", "") if kind == "script" else ""
        try:
            inputs, outputs = wire.parse_json(fields["inputs"]), wire.parse_json(fields["outputs"])
        except KeyError:
            raise RequestFormatError(f"request {entry_id} needs JSON 'inputs' and 'outputs' lists", reply) from None
        except ValueError as exc:
            raise RequestFormatError(
                f"request {entry_id}: 'inputs' or 'outputs' is not valid JSON: {exc}", reply
            ) from None
        well_formed = (
            bool(name)
            and bool(reply)
            and isinstance(inputs, list)
            and isinstance(outputs, list)
            and all(isinstance(k, str) and k for k in [*inputs, *outputs])
            and (kind == "model" or bool(function))
        )
        if not well_formed:
            raise RequestFormatError(
                f"request {entry_id} is malformed: needs model (or script and function), inputs and outputs "
                "(JSON lists of key names), reply",
                reply,
            )
        return cls(kind, name, tuple(inputs), tuple(outputs), reply or "", function, entry_id, stream)

    @property
    def label(self) -> str:
        """``model 'name'`` or ``script 'name' function 'fn'``, for messages."""
        if self.kind == "model":
            return f"model {self.name!r}"
        return f"script {self.name!r} function {self.function!r}"


def run_timeout(session: Session, timeout: float | None) -> float:
    """Seconds a run request waits for its answer: ``timeout``, else the session's
    (``SIMDASK_RUN_TIMEOUT``, else ``simdask.inference.run-timeout``)."""
    wait = session.options.run_timeout if timeout is None else timeout
    if wait is None or isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 < wait < math.inf:
        raise ValueError(f"timeout must be a number of seconds > 0, got {wait!r}")
    return float(wait)


def run_request(session: Session, request: RunRequest, timeout: float | None = None, node: str | None = None) -> None:
    """Send ``request`` and wait for its answer: ``EVAL SUBMIT`` and ``BLPOP`` pipelined on one connection.

    ``timeout`` is in seconds (``None``: :func:`run_timeout`). ``node`` is the
    caller's node (``None``: :func:`~simdask.locality.node_name`): the request
    goes to a serving loop of that node when one is alive, else to any;
    ``""`` sends it to any loop (the protocol before node routing). Returns when a
    serving loop answered ``OK`` (the outputs are stored); raises
    :class:`~simdask.errors.ModelError` for its ``ERR`` (at once when no
    serving loop is alive: :func:`no_service_message`), and
    :class:`~simdask.errors.ModelTimeoutError` when no answer came in time,
    also when the store itself stopped answering: the whole call ends within
    ``timeout`` plus :data:`REPLY_GRACE_S`. When the connection breaks after
    the request was sent, the request is not sent again (it may be in the
    stream already); the answer is awaited on a new connection instead.
    """
    wait = run_timeout(session, timeout)
    message = no_service_message(session.address)
    node = node_name() if node is None else node
    keys = (LOOPS_KEY, REQUEST_STREAM, request.reply) + ((node_loops_key(node), node_stream(node)) if node else ())
    commands = [
        ("EVAL", _SUBMIT, len(keys), *keys, REPLY_TTL_S, message, *request.fields()),
        ("BLPOP", request.reply, wait),
    ]
    transport = session.transport
    end = time.monotonic() + wait
    try:
        with deadline(wait + REPLY_GRACE_S):
            try:
                replies = transport.run([Request(REQUEST_STREAM, commands)], timeout=wait + REPLY_GRACE_S)[0]
            except StoreConnectionError as exc:
                if not exc.request_sent or end - time.monotonic() <= 0:
                    raise
                # the request may be in the stream (it is never sent twice): wait for its answer, on a new
                # connection, for what is left of the time
                left = end - time.monotonic()
                blpop = Request(request.reply, [("BLPOP", request.reply, left)], idempotent=True)
                replies = [None, transport.run([blpop], timeout=left + REPLY_GRACE_S)[0]]
    except StoreTimeoutError as exc:
        raise ModelTimeoutError(f"{request.label}: no answer within {wait:g} s ({exc})") from None
    for reply in replies:
        if isinstance(reply, ErrorReply):
            shard = transport.node_for(REQUEST_STREAM)
            raise error_from_reply(reply, f"{request.label}: sending the run request to {shard}")
    popped = replies[1]
    parse_reply(None if popped is None else popped[1], request.label, wait)


def parse_reply(reply: bytes | None, label: str, timeout: float) -> None:
    """Raise the error a serving loop reported (or a timeout when there was no reply)."""
    if reply is None:
        raise ModelTimeoutError(
            f"{label}: no answer within {timeout:g} s (a serving loop is alive but did not answer in time: "
            "busy with other requests or a long model run, or it died and its lease has not ended yet)"
        )
    text = reply.decode("utf-8", "replace")
    if text == "OK":
        return
    message = text[4:] if text.startswith("ERR ") else text
    raise ModelError(message if label in message else f"{label}: {message}")


def _now_ms(reply: Any) -> int:
    return int(reply[0]) * 1000 + int(reply[1]) // 1000


def _alive(entries: Any, now_ms: int) -> list[str]:
    return sorted(name.decode() for name, score in zip(entries[::2], entries[1::2]) if float(score) > now_ms)


def _on_loops_slot(session: Session, commands: list[tuple[Any, ...]], what: str) -> list[Any]:
    """Run ``commands`` (idempotent) on the shard of :data:`LOOPS_KEY` in one round trip; their replies."""
    request = Request(LOOPS_KEY, commands, read_reply_list(len(commands)), idempotent=True)
    replies: list[Any] = session.transport.run([request])[0]
    for reply in replies:
        if isinstance(reply, ErrorReply):
            raise error_from_reply(reply, f"{what} at {session.transport.node_for(LOOPS_KEY)}")
    return replies


def live_loops(session: Session) -> list[str]:
    """The serving loops whose lease has not ended (consumer names, sorted), as the store's clock says."""
    commands: list[tuple[Any, ...]] = [("TIME",), ("ZRANGE", LOOPS_KEY, 0, -1, "WITHSCORES")]
    now, entries = _on_loops_slot(session, commands, "listing the serving loops")
    return _alive(entries, _now_ms(now))


def known_nodes(session: Session) -> list[str]:
    """The nodes that had serving loops (:data:`NODES_KEY`), sorted."""
    return sorted(n.decode() for n in session.transport.execute(NODES_KEY, "ZRANGE", NODES_KEY, 0, -1) or [])


def nodes_without_loops(session: Session) -> list[str]:
    """The nodes of :data:`NODES_KEY` where the lease of every loop ended, as the store's clock says (one
    round trip; a node whose last loop stopped counts once that loop's lease would have ended)."""
    commands: list[tuple[Any, ...]] = [("TIME",), ("ZRANGE", NODES_KEY, 0, -1, "WITHSCORES")]
    now, entries = _on_loops_slot(session, commands, "listing the nodes of the serving loops")
    alive = set(_alive(entries, _now_ms(now)))
    return sorted(n.decode() for n in entries[::2] if n.decode() not in alive)


def loop_nodes(session: Session, nodes: list[str] | None = None) -> dict[str, list[str]]:
    """The serving loops alive on each of ``nodes`` (default: :func:`known_nodes`), as the store's clock says;
    a node without one maps to ``[]``. Loops of a server before node routing are on no node."""
    nodes = known_nodes(session) if nodes is None else nodes
    commands = [("TIME",), *[("ZRANGE", node_loops_key(n), 0, -1, "WITHSCORES") for n in nodes]]
    replies = _on_loops_slot(session, commands, "listing the serving loops of each node")
    now_ms = _now_ms(replies[0])
    return {n: _alive(entries, now_ms) for n, entries in zip(nodes, replies[1:])}


def mark_loops_alive(session: Session, consumers: list[str], lease_ms: int, node: str = "") -> None:
    """Renew the lease of ``consumers`` (``LOOP_ALIVE``): alive for ``lease_ms`` from now, store time; also
    as loops of ``node`` when given."""
    if consumers:
        on_node = (node_loops_key(node), NODES_KEY, int(lease_ms), node) if node else (int(lease_ms),)
        command = ("EVAL", _LOOP_ALIVE, 3 if node else 1, LOOPS_KEY, *on_node, *consumers)
        reply = session.transport.run([Request(LOOPS_KEY, [command], idempotent=True)])[0]
        if isinstance(reply, ErrorReply):
            raise error_from_reply(reply, f"renewing the lease of serving loops {consumers}")


def drop_loops(session: Session, consumers: list[str], nodes: Sequence[str] = ()) -> None:
    """End the lease of ``consumers`` at once (loops that stopped), also as loops of each of ``nodes``."""
    if consumers:
        commands = [("ZREM", key, *consumers) for key in (LOOPS_KEY, *map(node_loops_key, nodes))]
        _on_loops_slot(session, commands, f"ending the lease of serving loops {consumers}")
