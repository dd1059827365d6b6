"""Tensors in the store: the put/get/unpack/delete protocol of ``docs/protocol.md``.

Writes send the array's memory as it lies (no copy for C- or F-contiguous
arrays); large tensors go in chunks. Reads receive each value straight into
the memory the result will view (``get``) or into the caller's array
(``unpack``). Every reply is consumed completely before any error is raised,
so a connection always stays usable.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import wire
from ..errors import (
    ConcurrentUpdateError,
    KeyNotFoundError,
    ResponseError,
    TensorFormatError,
    TensorMismatchError,
    UnsupportedDtypeError,
    error_from_reply,
)
from ..transport import Connection, ErrorReply, Request, Transport
from ..transport.transport import read_replies
from .scripts import CLEANUP_CHUNKS

CLEANUP_SCRIPT = CLEANUP_CHUNKS.encode()  # sent with every write: encoded once

__all__ = [
    "EncodedTensor",
    "encode_tensor",
    "write_chunks",
    "write_tensors",
    "read_tensors",
    "unpack_tensor",
    "read_infos",
    "delete_tensors",
    "cleanup_commands",
    "drop_commands",
    "head_commands",
    "check_transaction",
]

_MISSING = object()
_HEADER_PROBE = 512  # bytes read per key for its header: enough for a few dims and short attrs


# -- writing -------------------------------------------------------------------------


def as_wire_array(array: Any, key: str) -> tuple[np.ndarray, wire.Order]:
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


@dataclass(frozen=True)
class EncodedTensor:
    """A tensor ready to be written: its head value and, when chunked, its chunks."""

    key: str
    head: tuple[bytes, ...] | tuple[bytes, memoryview]
    chunk_prefix: str | None  # None: the key has no valid hash tag and is never chunked
    chunks: tuple[tuple[str, memoryview], ...] = ()


def encode_tensor(
    key: str,
    array: Any,
    *,
    dims: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    chunk_threshold: int,
    chunk_bytes: int,
) -> EncodedTensor:
    """Lay out one tensor for writing, viewing (not copying) the array's memory."""
    arr, order = as_wire_array(array, key)
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


def cleanup_commands(keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """The one ``EVAL`` (inside a MULTI) that drops the chunks of whatever tensors ``keys`` hold now.

    Keys without a valid hash tag are never chunked and need no cleanup; in
    a cluster, all ``keys`` must share one slot (a tensor's own key, or a
    dataset's keys).
    """
    tagged = [(k, p) for k, p in ((k, wire.chunk_prefix(k)) for k in keys) if p is not None]
    if not tagged:
        return []
    return [("EVAL", CLEANUP_SCRIPT, len(tagged), *(k for k, _ in tagged), *(p for _, p in tagged))]


def head_commands(encoded: Sequence[EncodedTensor]) -> list[tuple[Any, ...]]:
    """Commands (inside a MULTI) that replace the heads and drop the previous chunks."""
    return [*cleanup_commands([t.key for t in encoded]), *(("SET", t.key, t.head) for t in encoded)]


def check_transaction(replies: list[Any], context: str) -> list[Any]:
    """Raise the first error of a ``MULTI ... EXEC`` reply list; return EXEC's results."""
    result = replies[-1]
    if isinstance(result, ErrorReply):  # EXECABORT: a queued command was refused (e.g. OOM)
        queued = next((r for r in replies[1:-1] if isinstance(r, ErrorReply)), result)
        raise error_from_reply(queued, context)
    if result is None:
        raise ResponseError(f"{context}: transaction aborted")
    for item in result:
        if isinstance(item, ErrorReply):
            raise error_from_reply(item, context)
    return result


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
            failure = error_from_reply(error, _put_context(transport, tensor))
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
            check_transaction(replies, _put_context(transport, tensor))
        elif isinstance(replies, ErrorReply):
            raise error_from_reply(replies, _put_context(transport, tensor))


def _put_context(transport: Transport, tensor: EncodedTensor) -> str:
    return f"put_tensor {tensor.key!r} at {transport.node_for(tensor.key)}"


# -- reading -------------------------------------------------------------------------

Target = Callable[[wire.TensorInfo, int], "memoryview | None"]


@dataclass
class _Value:
    """One GET reply of a tensor value: the whole value, or its header when the data went to a target."""

    buffer: np.ndarray | None = None
    info: wire.TensorInfo | None = None  # set when the data were received into the target


class _ValueReader:
    """Read a GET reply of a tensor value; with ``target``, receive the data straight into it.

    Nothing is validated here beyond what choosing the target needs: the
    reply is always consumed completely, and decoding (with its errors)
    happens after the pipeline.
    """

    def __init__(self, key: str, target: Target | None = None) -> None:
        self.key = key
        self.target = target

    def __call__(self, conn: Connection) -> Any:
        size = conn.read_bulk_length()
        if isinstance(size, ErrorReply):
            return size
        if size < 0:
            return _MISSING
        head = b""
        if self.target is not None and size >= wire.FIXED_HEADER:
            head = conn.read_exact(wire.FIXED_HEADER)
            data_offset = int.from_bytes(head[12:16], "little")
            if head[:4] == wire.MAGIC and wire.FIXED_HEADER < data_offset <= size:
                head += conn.read_exact(data_offset - wire.FIXED_HEADER)
                info, target = self._choose_target(head, size)
                if target is not None:
                    conn.readinto(target)
                    conn.expect_crlf()
                    return _Value(info=info)
        whole = np.empty(size, dtype=np.uint8)
        whole[: len(head)] = np.frombuffer(head, dtype=np.uint8)
        conn.readinto(whole.data[len(head) :])
        conn.expect_crlf()
        return _Value(buffer=whole)

    def _choose_target(self, head: bytes, size: int) -> tuple[wire.TensorInfo | None, memoryview | None]:
        try:
            info = wire.decode_header(head, self.key)
        except TensorFormatError:
            return None, None
        if info.chunked or size != info.value_length:
            return info, None
        assert self.target is not None
        return info, self.target(info, size)


class _ChunkReader:
    """Read a GET reply of one chunk straight into its slice of the destination."""

    def __init__(self, target: memoryview) -> None:
        self.target = target

    def __call__(self, conn: Connection) -> Any:
        size = conn.read_bulk_length()
        if isinstance(size, ErrorReply):
            return size
        if size < 0:
            return _MISSING
        if size != self.target.nbytes:
            conn.skip(size + 2)
            return size
        conn.readinto(self.target)
        conn.expect_crlf()
        return True


def _raise_for_reply(reply: Any, key: str, transport: Transport, what: str) -> None:
    if reply is _MISSING:
        raise KeyNotFoundError(f"tensor {key!r} does not exist in the store at {transport.address}")
    if isinstance(reply, ErrorReply):
        if reply.startswith("WRONGTYPE"):
            kind = transport.execute(key, "TYPE", key)
            context = f"{what} {key!r} at {transport.node_for(key)}: the key holds a {kind}, not a tensor"
            raise error_from_reply(reply, context)
        raise error_from_reply(reply, f"{what} {key!r} at {transport.node_for(key)}")


def _decode(value: _Value, key: str) -> tuple[wire.TensorInfo, np.ndarray | None]:
    """(info, whole value) of a read value; the value is None when the data went to a target."""
    if value.info is not None:
        return value.info, None
    assert value.buffer is not None
    info = wire.decode_header(value.buffer, key)
    wire.check_value_length(info, len(value.buffer), key)
    return info, value.buffer


@dataclass
class _Pending:
    """A chunked tensor whose chunks still have to be read."""

    index: int
    key: str
    info: wire.TensorInfo
    ref: wire.ChunkRef
    out: np.ndarray
    retried: bool = False


def _chunk_requests(pending: _Pending) -> list[Request]:
    prefix = wire.chunk_prefix(pending.key)
    assert prefix is not None
    flat = pending.out.reshape(-1, order=pending.info.order).view(np.uint8).data
    step = pending.ref.chunk_bytes
    return [
        Request(
            pending.key,
            [("GET", wire.chunk_key(prefix, pending.ref.generation, i))],
            _ChunkReader(flat[i * step : i * step + pending.ref.chunk_length(i, pending.info.nbytes)]),
        )
        for i in range(pending.ref.n_chunks)
    ]


def _allocate(info: wire.TensorInfo, key: str) -> np.ndarray:
    try:
        return np.empty(info.shape, dtype=info.dtype, order=info.order)
    except (MemoryError, ValueError) as exc:
        raise TensorFormatError(f"cannot allocate tensor {key!r} of {info.dtype} {info.shape}: {exc}") from None


def read_tensors(
    transport: Transport,
    keys: Sequence[str],
    *,
    outs: Sequence[np.ndarray | None] | None = None,
    what: str = "get_tensor",
) -> list[tuple[wire.TensorInfo, np.ndarray]]:
    """Read tensors pipelined; returns (info, array) per key.

    With ``outs``, each non-None entry is a caller's array to fill (it must
    match the stored dtype and shape); its data are received directly into
    it when its memory order matches the stored one.
    """
    outs = list(outs) if outs is not None else [None] * len(keys)
    requests = [
        Request(key, [("GET", key)], _ValueReader(key, None if out is None else _unpack_target(out)))
        for key, out in zip(keys, outs)
    ]
    results: list[Any] = [None] * len(keys)
    pending: list[_Pending] = []
    for index, (key, reply, out) in enumerate(zip(keys, transport.run(requests), outs)):
        _raise_for_reply(reply, key, transport, what)
        info, value = _decode(reply, key)
        if out is not None:
            _check_fits(info, out, key)
        if value is None:
            results[index] = (info, out)
        elif info.chunked:
            ref = wire.decode_chunk_ref(value, info, key)
            dest = out if out is not None and _same_layout(info, out) else _allocate(info, key)
            pending.append(_Pending(index, key, info, ref, dest))
        else:
            results[index] = (info, wire.array_from_buffer(info, value, info.data_offset))
    _read_chunks(transport, pending, results)
    for index, (key, out) in enumerate(zip(keys, outs)):
        info, array = results[index]
        if out is not None and array is not out:
            _check_fits(info, out, key)
            np.copyto(out, array)
            results[index] = (info, out)
    return results


def _read_chunks(transport: Transport, pending: list[_Pending], results: list[Any]) -> None:
    """Read the chunks of chunked tensors; re-read a head once when a chunk went missing."""
    while pending:
        groups = [_chunk_requests(p) for p in pending]
        replies = transport.run([r for group in groups for r in group])
        retry: list[_Pending] = []
        position = 0
        for item, group in zip(pending, groups):
            chunk_replies = replies[position : position + len(group)]
            position += len(group)
            problem = next((r for r in chunk_replies if r is not True), None)
            if problem is None:
                results[item.index] = (item.info, item.out)
            elif isinstance(problem, ErrorReply):
                raise error_from_reply(problem, f"reading chunks of {item.key!r} at {transport.node_for(item.key)}")
            elif problem is not _MISSING:
                raise TensorFormatError(f"a chunk of tensor {item.key!r} has the wrong length ({problem} bytes)")
            else:
                retry.append(_reread_head(transport, item))
        pending = retry


def _reread_head(transport: Transport, item: _Pending) -> _Pending:
    """A chunk vanished: the tensor was probably overwritten meanwhile. Read its head once more."""
    if item.retried:
        raise ConcurrentUpdateError(
            f"tensor {item.key!r} was overwritten twice while being read from {transport.node_for(item.key)}; "
            "read it again"
        )
    reply = transport.run([Request(item.key, [("GET", item.key)], _ValueReader(item.key))])[0]
    _raise_for_reply(reply, item.key, transport, "get_tensor")
    info, value = _decode(reply, item.key)
    assert value is not None
    if not info.chunked:
        raise ConcurrentUpdateError(f"tensor {item.key!r} was overwritten while being read; read it again")
    ref = wire.decode_chunk_ref(value, info, item.key)
    if ref.generation == item.ref.generation:
        raise TensorFormatError(
            f"a chunk of tensor {item.key!r} (generation {item.ref.generation.hex()}) is missing from the store "
            f"at {transport.node_for(item.key)}: the tensor is damaged"
        )
    same = (info.shape, info.dtype, info.order) == (item.info.shape, item.info.dtype, item.info.order)
    return _Pending(item.index, item.key, info, ref, item.out if same else _allocate(info, item.key), retried=True)


def _same_layout(info: wire.TensorInfo, out: np.ndarray) -> bool:
    flags = out.flags
    return (flags.c_contiguous if info.order == "C" else flags.f_contiguous) and flags.writeable


def _check_fits(info: wire.TensorInfo, out: np.ndarray, key: str) -> None:
    if (out.dtype.kind, out.dtype.itemsize) != (info.dtype.kind, info.dtype.itemsize):
        raise TensorMismatchError(f"tensor {key!r} is stored as {info.dtype}; the destination array is {out.dtype}")
    if tuple(out.shape) != info.shape:
        raise TensorMismatchError(f"tensor {key!r} has shape {info.shape}; the destination array has {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"the destination array for tensor {key!r} is read-only")


def _unpack_target(out: np.ndarray) -> Target:
    def target(info: wire.TensorInfo, size: int) -> memoryview | None:
        if out.dtype != info.dtype or tuple(out.shape) != info.shape or not _same_layout(info, out):
            return None
        return out.reshape(-1, order=info.order).view(np.uint8).data

    return target


def unpack_tensor(transport: Transport, key: str, out: np.ndarray) -> None:
    """Fill ``out`` with the tensor at ``key`` (dtype and shape must match)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"unpack_tensor needs a numpy array to fill, got {type(out).__name__}")
    read_tensors(transport, [key], outs=[out], what="unpack_tensor")


def read_infos(
    transport: Transport, keys: Sequence[str], *, missing_ok: bool = False, check_length: bool = True
) -> list[Any]:
    """Headers (:class:`~simdask.wire.TensorInfo`) of many tensors in one pipeline, without their data.

    Each key costs one ``GETRANGE`` of its first 512 bytes (one more for
    longer attrs) and, with ``check_length``, a ``STRLEN`` to refuse a
    truncated value now rather than when its data are read. A missing key
    raises :class:`KeyNotFoundError`, or gives ``None`` with ``missing_ok``.
    """
    def commands(key: str) -> list[tuple[Any, ...]]:
        probe = ("GETRANGE", key, 0, _HEADER_PROBE - 1)
        return [probe, ("STRLEN", key)] if check_length else [probe]

    replies = transport.run([Request(k, commands(k), read_replies(2 if check_length else 1)) for k in keys])
    decoded: dict[bytes, wire.TensorInfo] = {}  # the steps of a run share their header bytes: decode once
    infos: list[wire.TensorInfo | None] = []
    for key, reply in zip(keys, replies):
        head, length = (reply[0], reply[1]) if check_length else (reply, None)
        for part in (head, length):
            _raise_for_reply(part, key, transport, "tensor_info")
        if not head and not transport.execute(key, "EXISTS", key):
            if missing_ok:
                infos.append(None)
                continue
            _raise_for_reply(_MISSING, key, transport, "tensor_info")
        if len(head) >= wire.FIXED_HEADER and head[:4] == wire.MAGIC:
            needed = wire.FIXED_HEADER + 8 * head[6] + int.from_bytes(head[8:12], "little")
            if needed > len(head) == _HEADER_PROBE:
                head = transport.execute(key, "GETRANGE", key, 0, needed - 1)
            head = head[: max(needed, wire.FIXED_HEADER)]
        info = decoded.get(head)
        if info is None:
            info = decoded[head] = wire.decode_header(head, key)
        if length is not None:
            wire.check_value_length(info, length, key)
        infos.append(info)
    return infos


def drop_commands(keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """Commands (inside a MULTI) that delete the tensors at ``keys`` and their chunks."""
    return [*cleanup_commands(keys), *(("UNLINK", k) for k in keys)]


def delete_tensors(transport: Transport, keys: Sequence[str]) -> list[bool]:
    """Delete tensors and their chunks; returns whether each existed."""
    requests = [Request(key, [("MULTI",), *drop_commands([key]), ("EXEC",)]) for key in keys]
    existed = []
    for key, replies in zip(keys, transport.run(requests)):
        results = check_transaction(replies, f"delete_tensor {key!r} at {transport.node_for(key)}")
        existed.append(bool(results[-1]))
    return existed
