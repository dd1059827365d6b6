"""Writing tensors (``docs/protocol.md``, "Writing a tensor"): layout, chunks, head transactions.

Writes send the array's memory as it lies (no copy for C- or F-contiguous
arrays); large tensors go in chunks, all chunks first, then each head in a
transaction that drops the previous generation's chunks.

Retries: chunk ``SET``s and the head transaction of a plain tensor have the
same effect when sent twice, so the transport sends them again after a
broken connection. The head transaction of a chunked tensor does not (sent
again after it ran, its cleanup would drop the chunks it just published), so
when its connection breaks the whole write is done once more under a new
generation, and the chunks of the abandoned one are removed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import wire
from ..errors import ProtocolError, StoreConnectionError, UnsupportedDtypeError, error_from_reply
from ..transport import ErrorReply, Request, Transport, check_transaction
from .scripts import CLEANUP_CHUNKS

__all__ = [
    "EncodedTensor",
    "encode",
    "regenerate",
    "cleanup_commands",
    "head_commands",
    "drop_commands",
    "write_chunks",
    "head_requests",
    "rewrite_on_failure",
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
    coords: Mapping[str, Any] | None = None,
    block: wire.Placement | Mapping[str, Sequence[int]] | None = None,
) -> EncodedTensor:
    """Lay out one tensor for writing, viewing (not copying) the array's memory."""
    arr, order = _as_wire_array(array, key)
    header_of = functools.partial(wire.encode_header, dims=dims, attrs=attrs, coords=coords, block=block)
    data = arr.reshape(-1, order=order).view(np.uint8).data
    try:
        prefix = wire.chunk_prefix(key)
        if data.nbytes > chunk_threshold and prefix is not None:
            n_chunks = -(-data.nbytes // chunk_bytes)
            if n_chunks > wire.MAX_CHUNKS:
                raise ValueError(
                    f"{data.nbytes} bytes in chunks of {chunk_bytes} bytes make {n_chunks} chunks, more than the "
                    f"{wire.MAX_CHUNKS} a tensor may have: use larger chunk_bytes"
                )
            ref = wire.ChunkRef(n_chunks=n_chunks, chunk_bytes=chunk_bytes, generation=os.urandom(16))
            header = header_of(arr.dtype, arr.shape, order, chunked=True)
            chunks = tuple(
                (wire.chunk_key(prefix, ref.generation, i), data[i * chunk_bytes : (i + 1) * chunk_bytes])
                for i in range(ref.n_chunks)
            )
            return EncodedTensor(key, (header + wire.encode_chunk_ref(ref),), prefix, chunks)
        header = header_of(arr.dtype, arr.shape, order)
    except ValueError as exc:
        raise type(exc)(f"tensor {key!r}: {exc}") from None
    return EncodedTensor(key, (header, data), prefix)


def regenerate(tensor: EncodedTensor) -> EncodedTensor:
    """The same chunked tensor under a new generation (new chunk keys, a head that names them)."""
    if not tensor.chunks or tensor.chunk_prefix is None:
        return tensor
    head = tensor.head[0]
    generation = os.urandom(16)
    ref = head[-wire.CHUNK_REF_SIZE :]
    fresh = ref[: wire.CHUNK_REF_SIZE - 16] + generation
    chunks = tuple(
        (wire.chunk_key(tensor.chunk_prefix, generation, i), data) for i, (_, data) in enumerate(tensor.chunks)
    )
    return EncodedTensor(tensor.key, (head[: -wire.CHUNK_REF_SIZE] + fresh,), tensor.chunk_prefix, chunks)


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


def head_requests(tensors: Sequence[EncodedTensor]) -> list[Request]:
    """One request per tensor that replaces its head (in a transaction that drops the previous chunks)."""
    requests = []
    for tensor in tensors:
        commands = head_commands([tensor])
        if tensor.chunk_prefix is not None:
            commands = [("MULTI",), *commands, ("EXEC",)]
        # a plain head's cleanup finds nothing of its own to drop: sending it twice is harmless
        requests.append(Request(tensor.key, commands, idempotent=not tensor.chunks))
    return requests


def rewrite_on_failure(
    transport: Transport, tensors: Sequence[EncodedTensor], write: Callable[[Sequence[EncodedTensor]], None]
) -> None:
    """Run ``write(tensors)``; if its connection broke once chunked heads may have been sent, run it once
    more with every chunked tensor under a new generation, then remove the abandoned generations' chunks."""
    try:
        write(tensors)
        return
    except ProtocolError:
        raise
    except StoreConnectionError:
        if not any(t.chunks for t in tensors):
            raise
    fresh = [regenerate(t) for t in tensors]
    write(fresh)
    abandoned = [Request(t.key, [("UNLINK", *(k for k, _ in t.chunks))]) for t in tensors if t.chunks]
    try:
        transport.run(abandoned)
    except StoreConnectionError:
        pass  # the data are right; the abandoned chunks stay behind as unreferenced keys


def write_tensors(transport: Transport, tensors: Sequence[EncodedTensor]) -> None:
    """Write tensors pipelined: all chunks first, then every head in its own transaction."""
    rewrite_on_failure(transport, tensors, lambda batch: _write_once(transport, batch))


def _write_once(transport: Transport, tensors: Sequence[EncodedTensor]) -> None:
    write_chunks(transport, tensors)
    for tensor, replies in zip(tensors, transport.run(head_requests(tensors))):
        if isinstance(replies, list):
            if isinstance(replies[-1], list) and not any(isinstance(r, ErrorReply) for r in replies[-1]):
                continue  # the transaction ran: the common case, checked without building a message
            check_transaction(replies, _put_context(transport, tensor.key))
        elif isinstance(replies, ErrorReply):
            raise error_from_reply(replies, _put_context(transport, tensor.key))
