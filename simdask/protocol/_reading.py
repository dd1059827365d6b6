"""Reading tensors (``docs/protocol.md``, "Reading a tensor"): values, chunks, headers.

Reads receive each value straight into the memory the result will view
(``get``) or into the caller's array (``unpack``). Every reply is consumed
completely before any error is raised, so a connection always stays usable.

Nothing a stored value says is trusted before it is checked: a header is
validated before anything is allocated for it; a chunked head's chunk count is
exactly what its size needs (at most :data:`~simdask.wire.MAX_CHUNKS`), and
the first and last of its chunks must be there, with the right lengths,
before memory is allocated for the data and the chunks are read (in rounds of
:data:`CHUNKS_PER_ROUND`). Bool elements must be 0 or 1. Anything else is a
:class:`~simdask.errors.TensorFormatError` naming the key.
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

__all__ = ["CHUNKS_PER_ROUND", "read_tensors", "read_infos", "tensor_from_reply"]

#: Chunk reads pipelined in one round trip (4 GiB of 4 MiB chunks): bounds the bookkeeping of one round.
CHUNKS_PER_ROUND = 1024


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
    """A chunked tensor whose chunks still have to be read (into ``out``, allocated once they are seen)."""

    index: int
    key: str
    prefix: str
    info: wire.TensorInfo
    ref: wire.ChunkRef
    out: np.ndarray | None
    retried: bool = False

    def chunk(self, index: int) -> str:
        return wire.chunk_key(self.prefix, self.ref.generation, index)


def _pending(
    index: int, key: str, info: wire.TensorInfo, value: Any, out: np.ndarray | None, retried: bool = False
) -> _Pending:
    """A chunked head checked: its key can have chunks and its chunk reference is valid."""
    prefix = wire.chunk_prefix(key)
    if prefix is None:
        raise TensorFormatError(
            f"value at key {key!r} is a chunked head, but a key with braces and no valid hash tag is never "
            "chunked: not written by simdask"
        )
    ref = wire.decode_chunk_ref(value, info, key)
    return _Pending(index, key, prefix, info, ref, out, retried)


def _chunk_request(pending: _Pending, flat: memoryview, index: int) -> Request:
    """The ``GET`` of chunk ``index``, received straight into its slice ``flat`` of the tensor's memory."""
    start = index * pending.ref.chunk_bytes
    target = flat[start : start + pending.ref.chunk_length(index, pending.info.nbytes)]
    return Request(pending.key, [("GET", pending.chunk(index))], ChunkReader(target))


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
            pending.append(
                _pending(index, key, info, value, out if out is not None and _same_layout(info, out) else None)
            )
        else:
            results[index] = (info, wire.array_from_buffer(info, value, info.data_offset))
    _read_chunks(transport, pending, results)
    for index, (key, out) in enumerate(zip(keys, outs)):
        info, array = results[index]
        wire.check_bool_values(info, array, key)
        if out is not None and array is not out:
            _check_fits(info, out, key)
            np.copyto(out, array)
            results[index] = (info, out)
    return results


def tensor_from_reply(key: str, reply: Any) -> tuple[wire.TensorInfo, np.ndarray] | None:
    """The tensor in ``reply``, the reply of a ``GET key`` (:func:`read_value`) a caller pipelined with requests
    of its own; ``None`` when it holds no whole tensor (a missing key, an error reply, a chunked head): read
    that key with :func:`read_tensors`, which reads chunks and raises what such a reply means. A malformed
    value raises :class:`~simdask.errors.TensorFormatError` naming the key."""
    if reply is None or isinstance(reply, ErrorReply):
        return None
    info, value = _decode(reply, key, None)
    if info.chunked:
        return None
    array = wire.array_from_buffer(info, value, info.data_offset)
    wire.check_bool_values(info, array, key)
    return info, array


def _check_ends(transport: Transport, pending: list[_Pending]) -> tuple[list[_Pending], list[_Pending]]:
    """Look at the first and last chunk of each tensor (``STRLEN``, one round trip): (there, missing).

    A tensor whose chunks are there is given memory now; one whose first or
    last chunk is missing is re-read (a concurrent overwrite) or refused.
    """
    probed = [p for p in pending if p.ref.n_chunks]
    replies = transport.run(
        [
            Request(p.key, [("STRLEN", p.chunk(0)), ("STRLEN", p.chunk(p.ref.n_chunks - 1))], read_replies(2))
            for p in probed
        ]
    )
    there = [p for p in pending if not p.ref.n_chunks]
    missing = []
    for item, (first, last) in zip(probed, replies):
        for reply in (first, last):
            if isinstance(reply, ErrorReply):
                raise error_from_reply(reply, f"reading chunks of {item.key!r} at {transport.node_for(item.key)}")
        wanted = (
            item.ref.chunk_length(0, item.info.nbytes),
            item.ref.chunk_length(item.ref.n_chunks - 1, item.info.nbytes),
        )
        if (first, last) == wanted:
            there.append(item)
        elif 0 in (first, last):
            missing.append(item)
        else:
            raise TensorFormatError(
                f"the chunks of tensor {item.key!r} have the wrong length ({first} and {last} bytes for the "
                f"first and last, expected {wanted[0]} and {wanted[1]}): damaged or foreign"
            )
    for item in there:
        if item.out is None:
            item.out = _allocate(item.info, item.key)
    return there, missing


def _read_chunks(transport: Transport, pending: list[_Pending], results: list[Any]) -> None:
    """Read the chunks of chunked tensors; re-read a head once when a chunk went missing.

    Rounds of :data:`CHUNKS_PER_ROUND` chunks, each made when it is sent; a
    tensor with a bad chunk in one round has no further round read.
    """
    while pending:
        ready, gone = _check_ends(transport, pending)
        retry = [_reread_head(transport, item) for item in gone]
        flats = [
            item.out.reshape(-1, order=item.info.order).view(np.uint8).data  # type: ignore[union-attr]
            for item in ready
        ]
        done = [0] * len(ready)
        problem: dict[int, Any] = {}
        active = [n for n, item in enumerate(ready) if item.ref.n_chunks]
        while active:
            round_: list[tuple[int, Request]] = []
            for n in active:
                item, take = ready[n], CHUNKS_PER_ROUND - len(round_)
                end = min(item.ref.n_chunks, done[n] + take)
                round_ += [(n, _chunk_request(item, flats[n], i)) for i in range(done[n], end)]
                done[n] = end
                if len(round_) == CHUNKS_PER_ROUND:
                    break
            for (n, _), reply in zip(round_, transport.run([request for _, request in round_])):
                if reply is not PLACED and n not in problem:
                    problem[n] = reply
            active = [n for n in active if n not in problem and done[n] < ready[n].ref.n_chunks]
        for n, item in enumerate(ready):
            reply = problem.get(n, PLACED)
            if reply is PLACED:
                results[item.index] = (item.info, item.out)
            elif isinstance(reply, ErrorReply):
                raise error_from_reply(reply, f"reading chunks of {item.key!r} at {transport.node_for(item.key)}")
            elif reply is not None:
                raise TensorFormatError(f"a chunk of tensor {item.key!r} has the wrong length ({reply} bytes)")
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
    fresh = _pending(item.index, item.key, info, value, None, retried=True)
    if fresh.ref.generation == item.ref.generation:
        raise TensorFormatError(
            f"a chunk of tensor {item.key!r} (generation {item.ref.generation.hex()}) is missing from the store "
            f"at {transport.node_for(item.key)}: the tensor is damaged"
        )
    same = (info.shape, info.dtype, info.order) == (item.info.shape, item.info.dtype, item.info.order)
    fresh.out = item.out if same else None
    return fresh


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
    heads = [(reply[0], reply[1]) if check_length else (reply, None) for reply in replies]
    # An empty reply is a missing key or an empty value: one more pipeline tells them apart, reading the head
    # again of a key written since (a watch probes keys about to be written).
    empty = [i for i, (head, _) in enumerate(heads) if head == b""]
    again = transport.run([Request(keys[i], [("EXISTS", keys[i]), *commands(keys[i])]) for i in empty]) if empty else []
    exists = set()
    for i, (present, *head) in zip(empty, again):
        if isinstance(present, ErrorReply):
            _raise_for_reply(present, keys[i], transport, "tensor_info")
        if present:
            exists.add(keys[i])
            heads[i] = (head[0], head[1] if check_length else None)
    # Headers longer than the probe (long attrs: a description with coordinate lists) take one more pipeline.
    longer: dict[int, int] = {}
    for index, (head, length) in enumerate(heads):
        needed = None if isinstance(head, ErrorReply) or not head else wire.header_length(head)
        if needed is not None and needed > len(head) == probe and (not isinstance(length, int) or needed <= length):
            longer[index] = needed
    more = (
        transport.run([Request(keys[i], [("GETRANGE", keys[i], 0, n - 1)], read_replies(1)) for i, n in longer.items()])
        if longer
        else []
    )
    for index, head in zip(longer, more):
        heads[index] = (head, heads[index][1])
    decoded: dict[bytes, wire.TensorInfo] = {}  # the steps of a run share their header bytes: decode once
    infos: list[wire.TensorInfo | None] = []
    for key, (head, length) in zip(keys, heads):
        for part in (head, length):
            if isinstance(part, ErrorReply):
                _raise_for_reply(part, key, transport, "tensor_info")
        if not head and key not in exists:
            if missing_ok:
                infos.append(None)
                continue
            _raise_for_reply(None, key, transport, "tensor_info")
        needed = wire.header_length(head)
        whole = head if length is not None and len(head) == length else None  # the probe read the whole value
        if needed is not None:
            head = head[:needed]
        info = decoded.get(head)
        if info is None:
            info = decoded[head] = wire.decode_header(head, key)
        if length is not None:
            wire.check_value_length(info, length, key)
        if info.chunked and whole is not None:  # the chunk reference came with the probe: check it too
            _pending(0, key, info, whole, None)
        infos.append(info)
    return infos
