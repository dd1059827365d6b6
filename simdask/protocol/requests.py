"""Run requests (``docs/protocol.md``, "Run requests"): the stream, the request, the reply.

A caller puts its inputs, then ``XADD simdask:requests * model <name> inputs
<json keys> outputs <json keys> reply <key>`` (``script <name> function <fn>``
for scripts) and blocks on ``BLPOP <reply key>``; a serving loop answers
``OK`` or ``ERR <message>``. This module holds the names and the encoding of
both sides, and the caller's side of the exchange.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from .. import config
from ..errors import ModelError, ModelTimeoutError, RequestFormatError, error_from_reply
from ..transport import ErrorReply, Request
from .models import Kind
from .session import Session

__all__ = [
    "REQUEST_STREAM",
    "GPU_STREAM",
    "GROUP",
    "REPLY_TTL_S",
    "RunRequest",
    "new_reply_key",
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
#: Seconds the socket waits beyond the ``BLPOP`` timeout, so that the server's own timeout answers first.
_REPLY_GRACE_S = 10


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
        return head + ["inputs", json.dumps(list(self.inputs)), "outputs", json.dumps(list(self.outputs)),
                       "reply", self.reply]

    @classmethod
    def from_entry(cls, stream: str, entry_id: str, raw_fields: list[bytes]) -> RunRequest:
        """Decode a stream entry; raise :class:`RequestFormatError` when it is not a valid request."""
        try:
            values = [f.decode() for f in raw_fields]
        except UnicodeDecodeError:
            raise RequestFormatError(f"request {entry_id} is not UTF-8", None) from None
        fields = dict(zip(values[::2], values[1::2]))
        reply = fields.get("reply") or None
        kind: Kind = "model" if "model" in fields else "script"
        name = fields.get(kind, "")
        try:
            inputs, outputs = json.loads(fields["inputs"]), json.loads(fields["outputs"])
        except (KeyError, ValueError):
            raise RequestFormatError(f"request {entry_id} needs JSON 'inputs' and 'outputs' lists", reply) from None
        well_formed = (
            name
            and reply
            and isinstance(inputs, list)
            and isinstance(outputs, list)
            and all(isinstance(k, str) and k for k in [*inputs, *outputs])
            and (kind == "model" or fields.get("function"))
        )
        if not well_formed:
            raise RequestFormatError(
                f"request {entry_id} is malformed: needs model (or script and function), inputs, outputs, reply",
                reply,
            )
        return cls(kind, name, tuple(inputs), tuple(outputs), reply or "", fields.get("function", ""), entry_id, stream)

    @property
    def label(self) -> str:
        """``model 'name'`` or ``script 'name' function 'fn'``, for messages."""
        if self.kind == "model":
            return f"model {self.name!r}"
        return f"script {self.name!r} function {self.function!r}"


def run_request(session: Session, request: RunRequest, timeout: float | None = None) -> None:
    """Send ``request`` and wait for its answer: ``XADD`` and ``BLPOP`` pipelined on one connection.

    ``timeout`` is in seconds (``None``: ``simdask.inference.run-timeout``).
    Returns when a serving loop answered ``OK`` (the outputs are stored);
    raises :class:`~simdask.errors.ModelError` for its ``ERR``, and
    :class:`~simdask.errors.ModelTimeoutError` when no answer came in time.
    """
    wait = float(config.get("inference.run-timeout", timeout))
    if wait <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {wait}")
    commands = [
        ("XADD", REQUEST_STREAM, "*", *request.fields()),
        ("BLPOP", request.reply, wait),
    ]
    transport = session.transport
    replies = transport.run([Request(REQUEST_STREAM, commands)], timeout=wait + _REPLY_GRACE_S)[0]
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
