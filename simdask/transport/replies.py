"""Reply readers: how the replies of a request are taken off a connection.

A :class:`~simdask.transport.Request` carries a reader that consumes exactly
the replies of its commands. Beside the generic ones (:func:`read_replies`,
:func:`read_reply_list`), bulk replies can be received without a second copy:
into a fresh byte array (:func:`read_value`), straight into a caller's buffer
chosen from the value's tensor header (:class:`ValueReader`), or into a slice
of a tensor (:class:`ChunkReader`). Every reader consumes its reply completely,
even a refused one, so a connection always stays usable; errors are returned
as :class:`ErrorReply` values, never raised here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import wire
from ..errors import ResponseError, error_from_reply
from .connection import Connection, ErrorReply

__all__ = [
    "Reader",
    "Placement",
    "PLACED",
    "read_replies",
    "read_reply_list",
    "read_value",
    "ValueReader",
    "ChunkReader",
    "check_transaction",
]

#: Consumes the replies of one request from a connection and returns its result.
Reader = Callable[[Connection], Any]
#: ``place(header, size)``: the buffer that receives a value's data (everything after ``header``,
#: a tensor's header up to its ``data_offset``), or ``None`` to receive the whole value instead.
Placement = Callable[[bytes, int], "memoryview | None"]


class _Placed(enum.Enum):
    PLACED = "placed"


#: What :class:`ValueReader` and :class:`ChunkReader` return when the data went into the buffer meant for them.
PLACED = _Placed.PLACED


def read_reply_list(count: int) -> Reader:
    """A reader returning the replies of ``count`` commands as a list."""
    return lambda conn: [conn.read_reply() for _ in range(count)]


def read_replies(count: int) -> Reader:
    """A reader returning the reply of one command, or the list of ``count`` replies."""
    if count == 1:
        return Connection.read_reply
    return read_reply_list(count)


def read_value(conn: Connection) -> np.ndarray | ErrorReply | None:
    """A bulk reply received straight into a fresh numpy byte array (``None`` for a nil reply)."""
    size = conn.read_bulk_length()
    if isinstance(size, ErrorReply):
        return size
    if size < 0:
        return None
    value = np.empty(size, dtype=np.uint8)
    conn.readinto(value.data)
    conn.expect_crlf()
    return value


class ValueReader:
    """Read a GET reply of a tensor value, receiving its data where ``place`` says.

    The reader reads the value's header (its length comes from the fixed
    header) and asks ``place``; when it returns a buffer, the rest of the
    value is received straight into it and the reader returns
    :data:`PLACED`. Otherwise (no placement, not a tensor, ``place`` says no)
    the whole value comes back as a byte array, as from :func:`read_value`.
    Nothing is validated beyond what placing needs: decoding happens later.
    """

    __slots__ = ("place",)

    def __init__(self, place: Placement) -> None:
        self.place = place

    def __call__(self, conn: Connection) -> np.ndarray | _Placed | ErrorReply | None:
        size = conn.read_bulk_length()
        if isinstance(size, ErrorReply):
            return size
        if size < 0:
            return None
        head = b""
        if size >= wire.FIXED_HEADER:
            head = conn.read_exact(wire.FIXED_HEADER)
            data_offset = wire.peek_data_offset(head)
            if data_offset is not None and wire.FIXED_HEADER < data_offset <= size:
                head += conn.read_exact(data_offset - wire.FIXED_HEADER)
                target = self.place(head, size)
                if target is not None:
                    conn.readinto(target)
                    conn.expect_crlf()
                    return PLACED
        whole = np.empty(size, dtype=np.uint8)
        whole[: len(head)] = np.frombuffer(head, dtype=np.uint8)
        conn.readinto(whole.data[len(head) :])
        conn.expect_crlf()
        return whole


class ChunkReader:
    """Read a GET reply of one chunk straight into ``target``, its slice of the tensor's memory.

    Returns :data:`PLACED` when the chunk filled ``target``; a value of
    another length is skipped and its length returned.
    """

    __slots__ = ("target",)

    def __init__(self, target: memoryview) -> None:
        self.target = target

    def __call__(self, conn: Connection) -> _Placed | int | ErrorReply | None:
        size = conn.read_bulk_length()
        if isinstance(size, ErrorReply):
            return size
        if size < 0:
            return None
        if size != self.target.nbytes:
            conn.skip(size + 2)
            return size
        conn.readinto(self.target)
        conn.expect_crlf()
        return PLACED


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
    results: list[Any] = result
    return results
