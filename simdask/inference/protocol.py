"""The language-neutral run-request protocol (DESIGN.md, "Inference requests").

A caller puts its inputs, then ``XADD simdask:requests * model <name> inputs
<json keys> outputs <json keys> reply <key>`` (``script <name> function <fn>``
for scripts) and blocks on ``BLPOP <reply key>``; a serving loop answers
``OK`` or ``ERR <message>``. This module holds the names and the encoding of
both sides; it does no I/O.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Literal

from ..errors import ModelError, ModelTimeoutError, RequestFormatError

__all__ = [
    "REQUEST_STREAM",
    "GPU_STREAM",
    "GROUP",
    "REPLY_TTL_S",
    "RunRequest",
    "new_reply_key",
    "stored_key",
    "version_key",
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

Kind = Literal["model", "script"]


def stored_key(kind: Kind, name: str) -> str:
    """Key of a stored model or script: its bytes as a uint8 tensor whose attrs hold its settings."""
    return f"simdask:{kind}:{{{name}}}"


def version_key(kind: Kind, name: str) -> str:
    """Counter bumped by every ``set_model``/``set_script`` of ``name`` (same shard as the model)."""
    return f"simdask:{kind}-version:{{{name}}}"


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
