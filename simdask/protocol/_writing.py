"""Writing tensors (``docs/protocol.md``, "Writing a tensor"): layout, chunks, head transactions.

Writes send the array's memory as it lies (no copy for C- or F-contiguous
arrays); large tensors go in chunks, all chunks first, then each head in a
transaction that drops the previous generation's chunks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import wire
from ..errors import UnsupportedDtypeError, error_from_reply
from ..transport import ErrorReply, Request, Transport, check_transaction
from .scripts import CLEANUP_CHUNKS

__all__ = [
    "EncodedTensor",
    "encode",
    "cleanup_commands",
    "head_commands",
    "drop_commands",
    "write_chunks",
    "write_tensors",
]

_CLEANUP_SCRIPT = CLEANUP_CHUNKS.encode()  # sent with every write: encoded once
Command = tuple[Any, ...]


@dataclass(frozen=True)
class EncodedTensor:
    """A tensor ready to be written: its head value and, when chunked, its chunks."""

    key: str
    head: tuple[bytes, ...] | tuple[bytes, memoryview]
    chunk_prefix: str | None  # None: the key has no valid hash tag and is never chunked
    chunks: tuple[tuple[str, memoryview], ...] = ()


def _as_wire_array(array: Any, key: str) -> tuple[np.ndarray, wire.Order]:
    """The array as little-endian contiguous memory and its order, copying only when needed."""
    arr = np.asarray(array)
    try:
        wire.dtype_code(arr.dtype)
    except UnsupportedDtypeError as exc:
        raise UnsupportedDtypeError(f"tensor {key!r}: {exc}") from None
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    if arr.flags.c_contiguous:
        return arr, "C"
    if arr.flags.f_contiguous:
        return arr, "F"
    return np.ascontiguousarray(arr), "C"


def encode(
    key: str,
    array: Any,
    *,
    dims: Sequence[str] | None,
    attrs: Mapping[str, Any] | None,
    chunk_threshold: int,
    chunk_bytes: int,
) -> EncodedTensor:
    """Lay out one tensor for writing, viewing (not copying) the array's memory."""
    arr, order = _as_wire_array(array, key)
    data = arr.reshape(-1, order=order).view(np.uint8).data
    try:
        prefix = wire.chunk_prefix(key)
        if data.nbytes > chunk_threshold and prefix is not None:
            ref = wire.ChunkRef(
                n_chunks=-(-data.nbytes // chunk_bytes), chunk_bytes=chunk_bytes, generation=os.urandom(16)
            )
            header = wire.encode_header(arr.dtype, arr.shape, order, dims=dims, attrs=attrs, chunked=True)
            chunks = tuple(
                (wire.chunk_key(prefix, ref.generation, i), data[i * chunk_bytes : (i + 1) * chunk_bytes])
                for i in range(ref.n_chunks)
            )
            return EncodedTensor(key, (header + wire.encode_chunk_ref(ref),), prefix, chunks)
        header = wire.encode_header(arr.dtype, arr.shape, order, dims=dims, attrs=attrs)
    except ValueError as exc:
        raise type(exc)(f"tensor {key!r}: {exc}") from None
    return EncodedTensor(key, (header, data), prefix)


def cleanup_commands(keys: Sequence[str]) -> list[Command]:
    """The one ``EVAL`` (inside a MULTI) that drops the chunks of whatever tensors ``keys`` hold now.

    Keys without a valid hash tag are never chunked and need no cleanup; in
    a cluster, all ``keys`` must share one slot (a tensor's own key, or a
    dataset's keys).
    """
    tagged = [(k, p) for k, p in ((k, wire.chunk_prefix(k)) for k in keys) if p is not None]
    if not tagged:
        return []
    return [("EVAL", _CLEANUP_SCRIPT, len(tagged), *(k for k, _ in tagged), *(p for _, p in tagged))]


def head_commands(encoded: Sequence[EncodedTensor]) -> list[Command]:
    """Commands (inside a MULTI) that replace the heads and drop the previous chunks.

    For callers that compose a transaction of their own around tensor writes
    (the serving loop writes outputs and answers together); the chunks of
    chunked tensors must have been written before.
    """
    return [*cleanup_commands([t.key for t in encoded]), *(("SET", t.key, t.head) for t in encoded)]


def drop_commands(keys: Sequence[str]) -> list[Command]:
    """Commands (inside a MULTI) that delete the tensors at ``keys`` and their chunks."""
    return [*cleanup_commands(keys), *(("UNLINK", k) for k in keys)]


def _put_context(transport: Transport, key: str) -> str:
    """What a failed write was doing, naming the key and the node, for error messages."""
    return f"put_tensor {key!r} at {transport.node_for(key)}"


def write_chunks(transport: Transport, tensors: Sequence[EncodedTensor]) -> None:
    """Write the chunks of chunked tensors (pipelined), before their heads.

    If any chunk cannot be written (e.g. the store is full), the chunks
    already written are removed and the error is raised: nothing else changed.
    """
    chunked = [t for t in tensors if t.chunks]
    if not chunked:
        return
    requests = [Request(t.key, [("SET", k, v) for k, v in t.chunks]) for t in chunked]
    failure = None
    for tensor, replies in zip(chunked, transport.run(requests)):
        replies = replies if isinstance(replies, list) else [replies]
        error = next((r for r in replies if isinstance(r, ErrorReply)), None)
        if error is not None and failure is None:
            failure = error_from_reply(error, _put_context(transport, tensor.key))
    if failure is not None:
        transport.run([Request(t.key, [("UNLINK", *(k for k, _ in t.chunks))]) for t in chunked])
        raise failure


def write_tensors(transport: Transport, tensors: Sequence[EncodedTensor]) -> None:
    """Write tensors pipelined: all chunks first, then every head in its own transaction."""
    write_chunks(transport, tensors)
    requests = []
    for tensor in tensors:
        commands = head_commands([tensor])
        if tensor.chunk_prefix is not None:
            commands = [("MULTI",), *commands, ("EXEC",)]
        requests.append(Request(tensor.key, commands))
    for tensor, replies in zip(tensors, transport.run(requests)):
        if isinstance(replies, list):
            if isinstance(replies[-1], list) and not any(isinstance(r, ErrorReply) for r in replies[-1]):
                continue  # the transaction ran: the common case, checked without building a message
            check_transaction(replies, _put_context(transport, tensor.key))
        elif isinstance(replies, ErrorReply):
            raise error_from_reply(replies, _put_context(transport, tensor.key))
