"""Datasets in the store: write, read, delete and test them with DESIGN.md's key layout.

``base`` is a dataset's key base, ``[prefix.]{name}``; its hash is
``base.meta`` and its tensors ``base.<tensor>``. Everything of one dataset
lives on one shard (the braces are its hash tag), so each step is one round
trip, and a dataset appears complete or not at all (one transaction).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import KeyNotFoundError, error_from_reply
from ..transport import ErrorReply, Request, Transport, check_transaction
from ..wire import hash_tag
from ._writing import EncodedTensor, drop_commands, head_commands, rewrite_on_failure, write_chunks
from .dataset import (
    COMPLETE_FIELD,
    TENSOR_NAMES_FIELD,
    Dataset,
    decode_metadata,
    decode_tensor_names,
    encode_metadata,
)
from .session import Session
from .tensors import encode_tensor, get_tensors

__all__ = ["meta_key", "dataset_name", "put_dataset", "get_datasets", "delete_dataset", "dataset_exists"]


def meta_key(base: str) -> str:
    """The key of a dataset's metadata hash."""
    return f"{base}.meta"


def dataset_name(base: str) -> str:
    """The dataset name inside a key base ``[prefix.]{name}`` (its hash tag).

    >>> dataset_name("p.{step_1}")
    'step_1'
    """
    return hash_tag(base) or base


def _missing(base: str) -> KeyNotFoundError:
    return KeyNotFoundError(f"dataset {dataset_name(base)!r} (key {meta_key(base)!r}) does not exist in the store")


def _tensor_names(transport: Transport, base: str) -> list[str] | None:
    raw = transport.execute(base, "HGET", meta_key(base), TENSOR_NAMES_FIELD)
    return None if raw is None else decode_tensor_names(raw, meta_key(base))


def _drop_tensor_commands(base: str, names: Sequence[str]) -> list[tuple[Any, ...]]:
    return drop_commands([f"{base}.{name}" for name in names]) if names else []


def put_dataset(session: Session, base: str, dataset: Dataset) -> None:
    """Write ``dataset`` under ``base``: its tensors and metadata appear together, in one transaction.

    Tensors a previous dataset of the same name had and this one has not are
    removed in the same transaction.
    """
    transport = session.transport
    tensors = [
        encode_tensor(session, f"{base}.{name}", array, dims=dims, attrs=attrs)
        for name, array, dims, attrs in dataset.tensor_items()
    ]
    old_names = _tensor_names(transport, base) or []
    stale = [n for n in old_names if n not in dataset.get_tensor_names()]
    fields = [part for field in encode_metadata(dataset) for part in field]

    def write(tensors: Sequence[EncodedTensor]) -> None:
        write_chunks(transport, tensors)
        commands: list[tuple[Any, ...]] = [("MULTI",)]
        commands += head_commands(tensors)
        commands += _drop_tensor_commands(base, stale)
        commands += [("UNLINK", meta_key(base)), ("HSET", meta_key(base), *fields, COMPLETE_FIELD, "1"), ("EXEC",)]
        # without chunked tensors the transaction has the same effect when sent twice
        request = Request(base, commands, idempotent=not any(t.chunks for t in tensors))
        check_transaction(transport.run([request])[0], f"put_dataset {dataset.name!r} at {transport.node_for(base)}")

    rewrite_on_failure(transport, tensors, write)


def get_datasets(session: Session, bases: Sequence[str]) -> list[Dataset]:
    """Read complete datasets (metadata and tensors) in two pipelined round trips."""
    transport = session.transport
    metas = transport.run([Request(b, [("HGETALL", meta_key(b))]) for b in bases])
    datasets: list[Dataset] = []
    keys: list[str] = []
    owners: list[tuple[Dataset, str]] = []
    for base, reply in zip(bases, metas):
        context = f"get_dataset {dataset_name(base)!r} at {transport.node_for(base)}"
        if isinstance(reply, ErrorReply):
            raise error_from_reply(reply, context)
        fields = dict(zip(reply[::2], reply[1::2]))
        if fields.get(COMPLETE_FIELD.encode()) != b"1":
            raise _missing(base)
        dataset, names = decode_metadata(dataset_name(base), fields, meta_key(base))
        datasets.append(dataset)
        for name in names:
            keys.append(f"{base}.{name}")
            owners.append((dataset, name))
    for (dataset, name), (info, array) in zip(owners, get_tensors(session, keys, what="get_dataset")):
        dataset.add_tensor(name, array, dims=info.dims, attrs=info.attrs, copy=False)  # received: ours alone
    return datasets


def delete_dataset(session: Session, base: str) -> None:
    """Delete a dataset's tensors (and chunks) and its metadata hash; a missing dataset is an error."""
    transport = session.transport
    names = _tensor_names(transport, base)
    if names is None:
        raise _missing(base)
    commands = [("MULTI",), *_drop_tensor_commands(base, names), ("UNLINK", meta_key(base)), ("EXEC",)]
    replies = transport.run([Request(base, commands, idempotent=True)])[0]
    check_transaction(replies, f"delete_dataset {dataset_name(base)!r} at {transport.node_for(base)}")


def dataset_exists(session: Session, base: str) -> bool:
    """Whether the dataset at ``base`` exists completely (``HEXISTS base.meta .COMPLETE``)."""
    return bool(session.transport.execute(base, "HEXISTS", meta_key(base), COMPLETE_FIELD))
