"""What a serving loop reads behind its blocking ``XREADGROUP``: the settings and inputs the next request most
likely needs.

A simulation rank sends the same request every time step: same model, same
input keys, new values. The loop pipelines, behind its blocking read, the
``GETRANGE`` of the settings of the model it served last and the ``GET`` of
each input of the last request it served. The store runs a client's later
pipelined commands only once the blocked command returned, so they read the
values as of the moment requests arrived: after each caller's ``PUT`` of its
inputs (the caller waited for that reply before it sent ``SUBMIT``). A request
of that read whose model and inputs match is served with no further round
trip; anything else (other keys, a value that is not a whole tensor, a reply
that is an error, a request that did not come with that read) is read as
before, never served from an older value.

Bounds: the inputs of one request, at most :data:`MAX_KEYS` keys and
:data:`MAX_BYTES` bytes (as last read), and only while the loop served a
request less than :data:`IDLE_S` ago: an idle loop reads nothing ahead. In a
cluster only keys on the request stream's node are read ahead (the blocked
connection is to that node).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..protocol import RunRequest
from ..protocol.models import Kind, spec_request, stored_key
from ..protocol.requests import REQUEST_STREAM
from ..transport import Connection, ErrorReply, Transport
from ..transport.replies import read_value

__all__ = ["IDLE_S", "MAX_BYTES", "MAX_KEYS", "ReadAhead"]

#: Most input bytes (as last read) a loop reads ahead with each blocking read.
MAX_BYTES = 64 * 1024
#: Most input keys a loop reads ahead with each blocking read.
MAX_KEYS = 16
#: A loop reads ahead only while it served a request less than this many seconds ago.
IDLE_S = 1.0


class ReadAhead:
    """The reads one serving loop pipelines behind its blocking read, and what they returned."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._model: tuple[Kind, str] | None = None
        self._keys: tuple[str, ...] = ()
        self._served_at = 0.0
        self._settings: tuple[str, Any] | None = None  # (record key, its GETRANGE reply) read with the last read
        self._values: dict[str, Any] = {}  # input key -> its GET reply, read with the last blocking read
        self._fresh: set[tuple[str, str]] = set()  # (stream, entry id) of the requests that read returned

    def plan(self, request: RunRequest, inputs: Sequence[np.ndarray] | str | None) -> None:
        """Read ``request``'s model settings and (when small, whole and on the stream's node) its inputs ahead
        of the next blocking read; ``inputs`` are the arrays served to it."""
        self._model = (request.kind, request.name)
        self._served_at = time.monotonic()
        keys: tuple[str, ...] = ()
        if isinstance(inputs, list) and len(request.inputs) <= MAX_KEYS:
            if sum(a.nbytes for a in inputs) <= MAX_BYTES:
                keys = tuple(key for key in request.inputs if self._home(key))
        self._keys = keys

    def commands(self) -> list[tuple[Any, ...]]:
        """The commands to pipeline behind the next blocking read; none while the loop is idle."""
        if self._model is None or time.monotonic() - self._served_at > IDLE_S:
            return []
        head = [tuple(c) for c in spec_request(*self._model).commands] if self._home(stored_key(*self._model)) else []
        return [*head, *(("GET", key) for key in self._keys)]

    def reader(self, commands: list[tuple[Any, ...]]) -> Callable[[Connection], tuple[Any, list[Any]]]:
        """Reads the blocking read's reply and those of ``commands`` (a tuple: no redirection is followed for
        them; a value that moved is read again, as any other miss)."""
        getters = [read_value if c[0] == "GET" else Connection.read_reply for c in commands]
        return lambda conn: (conn.read_reply(), [get(conn) for get in getters])

    def take(self, commands: list[tuple[Any, ...]], replies: list[Any], requests: list[RunRequest]) -> None:
        """Keep what ``commands`` read for ``requests`` (those their blocking read returned); drop all else."""
        self._settings, self._values, self._fresh = None, {}, set()
        if not requests:
            return
        self._fresh = {(r.stream, r.entry_id) for r in requests}
        for command, reply in zip(commands, replies):
            if isinstance(reply, ErrorReply):  # MOVED, a foreign type: read again as any miss
                continue
            if command[0] == "GET":
                self._values[command[1]] = reply
            else:
                self._settings = (command[1], reply)

    def settings(self, kind: Kind, name: str, requests: Sequence[RunRequest]) -> Any:
        """The settings of model ``name`` read ahead for ``requests`` (all of the last read), else ``None``."""
        if not requests or self._settings is None or self._settings[0] != stored_key(kind, name):
            return None
        return self._settings[1] if self._all_fresh(requests) else None

    def inputs(self, request: RunRequest) -> dict[str, Any]:
        """The replies read ahead for inputs of ``request`` (by key); none when it did not come with the last
        read."""
        if not self._values or (request.stream, request.entry_id) not in self._fresh:
            return {}
        return {key: self._values[key] for key in request.inputs if key in self._values}

    def forget(self, keys: Sequence[str]) -> None:
        """Keys this loop just wrote (outputs): a later request of the same read must read their new value."""
        for key in keys:
            self._values.pop(key, None)

    def _all_fresh(self, requests: Sequence[RunRequest]) -> bool:
        return all((r.stream, r.entry_id) in self._fresh for r in requests)

    def _home(self, key: str) -> bool:
        """Whether ``key`` is on the request stream's node (always, on one server)."""
        return not self.transport.is_cluster or self.transport.node_for(key) == self.transport.node_for(REQUEST_STREAM)
