"""Tensors in the store: encode, put, get, unpack, headers, delete, copy (``docs/protocol.md``).

Every function takes a :class:`~simdask.protocol.Session` and raw store keys
(key prefixes already applied). Writes send the array's memory as it lies
and chunk large tensors with the session's settings; reads receive each value
straight into the memory the result views, or into the caller's array.

Examples
--------
>>> encoded = encode_tensor(session, "u", np.zeros((4, 4)), dims=("y", "x"))   # doctest: +SKIP
>>> put_tensors(session, [encoded])                                           # doctest: +SKIP
>>> info, array = get_tensors(session, ["u"])[0]                              # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import numpy as np

from ..transport import Request, check_transaction, read_value
from ..wire import Placement, TensorInfo
from ._reading import read_infos, read_tensors, tensor_from_reply
from ._writing import EncodedTensor, drop_commands, encode, head_commands, write_tensors
from .session import Session

__all__ = [
    "EncodedTensor",
    "encode_tensor",
    "put_tensors",
    "get_tensors",
    "get_requests",
    "tensor_from_reply",
    "unpack_tensor",
    "tensor_infos",
    "delete_tensors",
    "copy_tensor",
    "key_exists",
    "head_commands",
]


def encode_tensor(
    session: Session,
    key: str,
    array: Any,
    *,
    dims: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    coords: Mapping[str, Any] | None = None,
    block: Placement | Mapping[str, Sequence[int]] | None = None,
) -> EncodedTensor:
    """Lay out ``array`` for writing under ``key``, chunked as the session says; nothing is copied.

    Parameters
    ----------
    dims
        One name per axis, stored with the tensor.
    attrs
        JSON-serialisable metadata stored with the tensor.
    coords, block
        Coordinates and the place in a global array (``docs/protocol.md``,
        "Describing a tensor").
    """
    return encode(
        key,
        array,
        dims=dims,
        attrs=attrs,
        chunk_threshold=session.chunk_threshold,
        chunk_bytes=session.chunk_bytes,
        coords=coords,
        block=block,
    )


def put_tensors(session: Session, tensors: Sequence[EncodedTensor]) -> None:
    """Write encoded tensors, pipelined: all chunks first, then each head in its own transaction."""
    write_tensors(session.transport, tensors)


def get_tensors(
    session: Session,
    keys: Sequence[str],
    *,
    outs: Sequence[np.ndarray | None] | None = None,
    what: str = "get_tensor",
) -> list[tuple[TensorInfo, np.ndarray]]:
    """Read tensors in one pipelined round trip per shard; (header, array) per key.

    Parameters
    ----------
    outs
        Per key, ``None`` or a caller's array to fill: its dtype and shape must
        match the stored ones; the data are received straight into it when its
        memory order matches too.
    what
        The operation named in error messages.
    """
    return read_tensors(session.transport, keys, outs=outs, what=what)


def get_requests(keys: Sequence[str]) -> list[Request]:
    """The ``GET`` of each of ``keys``, for a caller that pipelines tensor reads with requests of its own (the
    serving loop reads a model's settings and its inputs in one round trip); decode each reply with
    :func:`tensor_from_reply`, and read the keys it gives ``None`` for with :func:`get_tensors`."""
    return [Request(key, [("GET", key)], read_value) for key in keys]


def unpack_tensor(session: Session, key: str, out: np.ndarray) -> None:
    """Fill ``out`` with the tensor at ``key`` (dtype and shape must match)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"unpack_tensor needs a numpy array to fill, got {type(out).__name__}")
    read_tensors(session.transport, [key], outs=[out], what="unpack_tensor")


@overload
def tensor_infos(
    session: Session, keys: Sequence[str], *, missing_ok: Literal[False] = ..., check_length: bool = ...
) -> list[TensorInfo]: ...


@overload
def tensor_infos(
    session: Session, keys: Sequence[str], *, missing_ok: bool, check_length: bool = ...
) -> list[TensorInfo | None]: ...


def tensor_infos(
    session: Session, keys: Sequence[str], *, missing_ok: bool = False, check_length: bool = True
) -> list[TensorInfo] | list[TensorInfo | None]:
    """Headers (:class:`~simdask.wire.TensorInfo`) of many tensors in one pipeline, without their data.

    Each key costs one ``GETRANGE`` of its first
    :data:`~simdask.wire.HEADER_PROBE_BYTES` (one more for longer attrs) and,
    with ``check_length``, a ``STRLEN`` to refuse a truncated value now rather
    than when its data are read. A missing key raises
    :class:`~simdask.errors.KeyNotFoundError`, or gives ``None`` with ``missing_ok``.
    """
    return read_infos(session.transport, keys, missing_ok=missing_ok, check_length=check_length)


def delete_tensors(session: Session, keys: Sequence[str]) -> list[bool]:
    """Delete tensors and their chunks, each in one transaction; whether each existed."""
    transport = session.transport
    # sent twice, a delete leaves the same store (only whether the key existed may then read False)
    requests = [Request(key, [("MULTI",), *drop_commands([key]), ("EXEC",)], idempotent=True) for key in keys]
    existed = []
    for key, replies in zip(keys, transport.run(requests)):
        results = check_transaction(replies, f"delete_tensor {key!r} at {transport.node_for(key)}")
        existed.append(bool(results[-1]))
    return existed


def copy_tensor(session: Session, source: str, dest: str) -> None:
    """Copy the tensor at ``source`` (data and description) to ``dest``, as a new generation."""
    info, array = read_tensors(session.transport, [source], what="copy_tensor")[0]
    copy = encode_tensor(session, dest, array, dims=info.dims, attrs=info.attrs, coords=info.coords, block=info.block)
    put_tensors(session, [copy])


def key_exists(session: Session, key: str) -> bool:
    """Whether the raw ``key`` exists (``EXISTS``)."""
    return bool(session.transport.execute(key, "EXISTS", key))
