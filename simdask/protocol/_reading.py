"""Reading tensors (``docs/protocol.md``, "Reading a tensor"): values, chunks, headers.

Reads receive each value straight into the memory the result will view
(``get``) or into the caller's array (``unpack``). Every reply is consumed
completely before any error is raised, so a connection always stays usable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import wire
from ..errors import (
    ConcurrentUpdateError,
    KeyNotFoundError,
    TensorFormatError,
    TensorMismatchError,
    error_from_reply,
)
from ..transport import (
    PLACED,
    ChunkReader,
    ErrorReply,
    Request,
    Transport,
    ValueReader,
    read_replies,
    read_value,
)

__all__ = ["read_tensors", "read_infos"]


def _raise_for_reply(reply: Any, key: str, transport: Transport, what: str) -> None:
    """Raise what a tensor read's reply means when it is not a value: a missing key or an error."""
    if reply is None:
        raise KeyNotFoundError(f"tensor {key!r} does not exist in the store at {transport.address}")
    if isinstance(reply, ErrorReply):
        if reply.startswith("WRONGTYPE"):
            kind = transport.execute(key, "TYPE", key)
            context = f"{what} {key!r} at {transport.node_for(key)}: the key holds a {kind}, not a tensor"
            raise error_from_reply(reply, context)
        raise error_from_reply(reply, f"{what} {key!r} at {transport.node_for(key)}")


class _Into:
    """Places a value's data straight into the caller's array when its header says it fits as it lies."""

    __slots__ = ("out", "key", "info")

    def __init__(self, out: np.ndarray, key: str) -> None:
        self.out = out
        self.key = key
        self.info: wire.TensorInfo | None = None  # the header, once the data were placed

    def __call__(self, head: bytes, size: int) -> memoryview | None:
        try:
            info = wire.decode_header(head, self.key)
        except TensorFormatError:
            return None  # decoded again after the pipeline, where the error is raised
        out = self.out
        if info.chunked or size != info.value_length:
            return None
        if out.dtype != info.dtype or tuple(out.shape) != info.shape or not _same_layout(info, out):
            return None
        self.info = info
        return out.reshape(-1, order=info.order).view(np.uint8).data


def _decode(reply: Any, key: str, into: _Into | None) -> tuple[wire.TensorInfo, np.ndarray | None]:
    """(info, whole value) of a value reply; the value is None when the data went into the caller's array."""
    if reply is PLACED:
        assert into is not None and into.info is not None
        return into.info, None
    info = wire.decode_header(reply, key)
    wire.check_value_length(info, len(reply), key)
    return info, reply


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
            ChunkReader(flat[i * step : i * step + pending.ref.chunk_length(i, pending.info.nbytes)]),
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
    intos = [None if out is None else _Into(out, key) for key, out in zip(keys, outs)]
    requests = [
        Request(key, [("GET", key)], read_value if into is None else ValueReader(into))
        for key, into in zip(keys, intos)
    ]
    results: list[Any] = [None] * len(keys)
    pending: list[_Pending] = []
    for index, (key, reply, out, into) in enumerate(zip(keys, transport.run(requests), outs, intos)):
        _raise_for_reply(reply, key, transport, what)
        info, value = _decode(reply, key, into)
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
            problems = [r for r in chunk_replies if r is not PLACED]
            if not problems:
                results[item.index] = (item.info, item.out)
            elif isinstance(problems[0], ErrorReply):
                raise error_from_reply(problems[0], f"reading chunks of {item.key!r} at {transport.node_for(item.key)}")
            elif problems[0] is not None:
                raise TensorFormatError(f"a chunk of tensor {item.key!r} has the wrong length ({problems[0]} bytes)")
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
    reply = transport.run([Request(item.key, [("GET", item.key)], read_value)])[0]
    _raise_for_reply(reply, item.key, transport, "get_tensor")
    info, value = _decode(reply, item.key, None)
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
    return bool(flags.c_contiguous if info.order == "C" else flags.f_contiguous) and bool(flags.writeable)


def _check_fits(info: wire.TensorInfo, out: np.ndarray, key: str) -> None:
    if (out.dtype.kind, out.dtype.itemsize) != (info.dtype.kind, info.dtype.itemsize):
        raise TensorMismatchError(f"tensor {key!r} is stored as {info.dtype}; the destination array is {out.dtype}")
    if tuple(out.shape) != info.shape:
        raise TensorMismatchError(f"tensor {key!r} has shape {info.shape}; the destination array has {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"the destination array for tensor {key!r} is read-only")


def read_infos(
    transport: Transport, keys: Sequence[str], *, missing_ok: bool, check_length: bool
) -> list[wire.TensorInfo | None]:
    """Headers of many tensors in one pipeline, without their data (see :func:`~.tensors.tensor_infos`)."""
    probe = wire.HEADER_PROBE_BYTES

    def commands(key: str) -> list[tuple[Any, ...]]:
        head = ("GETRANGE", key, 0, probe - 1)
        return [head, ("STRLEN", key)] if check_length else [head]

    replies = transport.run([Request(k, commands(k), read_replies(2 if check_length else 1)) for k in keys])
    decoded: dict[bytes, wire.TensorInfo] = {}  # the steps of a run share their header bytes: decode once
    infos: list[wire.TensorInfo | None] = []
    for key, reply in zip(keys, replies):
        head, length = (reply[0], reply[1]) if check_length else (reply, None)
        for part in (head, length):
            if isinstance(part, ErrorReply):
                _raise_for_reply(part, key, transport, "tensor_info")
        if not head and not transport.execute(key, "EXISTS", key):
            if missing_ok:
                infos.append(None)
                continue
            _raise_for_reply(None, key, transport, "tensor_info")
        needed = wire.header_length(head)
        if needed is not None:
            if needed > len(head) == probe:
                head = transport.execute(key, "GETRANGE", key, 0, needed - 1)
            head = head[:needed]
        info = decoded.get(head)
        if info is None:
            info = decoded[head] = wire.decode_header(head, key)
        if length is not None:
            wire.check_value_length(info, length, key)
        infos.append(info)
    return infos
