"""Run requests (``docs/protocol.md``, "Run requests"): the stream, the request, the reply.

A caller puts its inputs, then ``XADD simdask:requests * model <name> inputs
<json keys> outputs <json keys> reply <key>`` (``script <name> function <fn>``
for scripts) and blocks on ``BLPOP <reply key>``; a serving loop answers
``OK`` or ``ERR <message>``. This module holds the names and the encoding of
both sides, and the caller's side of the exchange.
"""

from __future__ import annotations

import json
import math
import time
import uuid
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
from ..transport import ErrorReply, Request, deadline
from .models import Kind
from .session import Session

__all__ = [
    "REQUEST_STREAM",
    "GPU_STREAM",
    "GROUP",
    "REPLY_TTL_S",
    "RunRequest",
    "new_reply_key",
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
#: Seconds a reply waits for its caller before the store drops it.
REPLY_TTL_S = 300
#: Seconds the socket waits beyond the ``BLPOP`` timeout, so that the server's own timeout (checked about
#: every 100 ms) answers first; a store that does not answer at all is given up after this.
REPLY_GRACE_S = 0.5
_FIELDS = ("model", "script", "function", "inputs", "outputs", "reply")


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


def run_request(session: Session, request: RunRequest, timeout: float | None = None) -> None:
    """Send ``request`` and wait for its answer: ``XADD`` and ``BLPOP`` pipelined on one connection.

    ``timeout`` is in seconds (``None``: :func:`run_timeout`). Returns when a
    serving loop answered ``OK`` (the outputs are stored); raises
    :class:`~simdask.errors.ModelError` for its ``ERR``, and
    :class:`~simdask.errors.ModelTimeoutError` when no answer came in time,
    also when the store itself stopped answering: the whole call ends within
    ``timeout`` plus :data:`REPLY_GRACE_S`. When the connection breaks after
    the request was sent, the request is not sent again (it may be in the
    stream already); the answer is awaited on a new connection instead.
    """
    wait = run_timeout(session, timeout)
    commands = [
        ("XADD", REQUEST_STREAM, "*", *request.fields()),
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
            node = transport.node_for(REQUEST_STREAM)
            raise error_from_reply(reply, f"{request.label}: sending the run request to {node}")
    popped = replies[1]
    parse_reply(None if popped is None else popped[1], request.label, wait)


def parse_reply(reply: bytes | None, label: str, timeout: float) -> None:
    """Raise the error a serving loop reported (or a timeout when there was no reply)."""
    if reply is None:
        raise ModelTimeoutError(
            f"{label}: no answer within {timeout:g} s (is an inference service running? `simdask serve`)"
        )
    text = reply.decode("utf-8", "replace")
    if text == "OK":
        return
    message = text[4:] if text.startswith("ERR ") else text
    raise ModelError(message if label in message else f"{label}: {message}")
