"""Aggregation lists: list keys whose entries are dataset key bases (``docs/protocol.md``, "Datasets").

Every function takes raw keys (prefixes applied): the list's key, and the
dataset bases ``[prefix.]{name}`` it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import KeyNotFoundError
from ..transport import Request, check_transaction
from .session import Session

__all__ = ["append_to_list", "list_entries", "list_length", "copy_list", "delete_list"]


def append_to_list(session: Session, key: str, base: str) -> None:
    """Append the dataset at ``base`` to the list at ``key`` (``RPUSH``)."""
    session.transport.execute(key, "RPUSH", key, base)


def list_entries(session: Session, key: str, start: int = 0, end: int = -1) -> list[str]:
    """The dataset bases at positions ``start`` to ``end`` (inclusive; negatives count from the end)."""
    entries: Sequence[bytes] = session.transport.execute(key, "LRANGE", key, start, end)
    return [e.decode() for e in entries]


def list_length(session: Session, key: str) -> int:
    """Number of entries of the list at ``key`` (0 if it does not exist)."""
    return int(session.transport.execute(key, "LLEN", key))


def copy_list(session: Session, source: str, dest: str) -> None:
    """Replace the list at ``dest`` with the entries of the list at ``source``, in one transaction."""
    entries = list_entries(session, source)
    if not entries and not session.transport.execute(source, "EXISTS", source):
        raise KeyNotFoundError(f"aggregation list {source!r} does not exist")
    transport = session.transport
    commands = [("MULTI",), ("UNLINK", dest), ("RPUSH", dest, *entries), ("EXEC",)]
    replies = transport.run([Request(dest, commands, idempotent=True)])[0]  # UNLINK then RPUSH: same result twice
    check_transaction(replies, f"copy_list {source!r} -> {dest!r}")


def delete_list(session: Session, key: str) -> None:
    """Delete the list at ``key`` (not the datasets it names)."""
    session.transport.execute(key, "UNLINK", key)
