"""Route commands to the right server: standalone or cluster, pooled, fork-safe, retried.

A :class:`Transport` owns one pool of :class:`Connection` per server node. It
runs *requests* (one or more commands sent together, with a reader that
consumes their replies) in pipelines grouped by node, and follows cluster
``MOVED``/``ASK`` redirections. After a fork (Dask nannies, MPI launchers) the
child drops the parent's connections and opens its own.

Failures of the connection are retried within a short window (``retry_window``,
``simdask.client.retry-window``, 2 s by default, never past the deadline of
the call, :func:`~simdask.transport.deadline`): a pooled connection the server
closed (a restart) is noticed before it is used, and a request is sent again
on a fresh connection, with a growing pause between attempts, while the
server is briefly away. Only *idempotent* requests are sent again once they
may have reached the server (:attr:`Request.idempotent`); a non-idempotent
one (``RPUSH``, ``XADD``, ``INCR``) whose connection broke after it was sent
raises :class:`StoreConnectionError` saying that it may have been applied.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ProtocolError, ResponseError, StoreConnectionError, error_from_reply
from .address import Address, format_addresses, parse_addresses
from .connection import Connection, ErrorReply
from .deadlines import current_deadline
from .replies import Reader, read_replies
from .slots import SLOT_COUNT, key_slot

__all__ = ["IDEMPOTENT_COMMANDS", "Request", "Transport", "scan_command"]

log = logging.getLogger("simdask.transport")

_MAX_REDIRECTS = 5
_MAX_IDLE_PER_NODE = 8
#: Pauses between attempts after a connection failure (seconds; the last one repeats). The first
#: retry is immediate: the usual failure is a pooled connection to a server that restarted.
_BACKOFF = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
#: Error replies that say the command was not run (a server still loading its data, a slot being
#: migrated, a cluster not ready): sending it again is safe for any command.
_NOT_RUN_REPLIES = ("LOADING", "TRYAGAIN", "CLUSTERDOWN")

#: Commands that have the same effect when sent twice, so a request made only of them is sent
#: again after a broken connection. ``MULTI``/``EXEC`` count as idempotent: a transaction is when
#: every command inside it is. ``EVAL`` does not (a request that knows its script is safe says so).
IDEMPOTENT_COMMANDS = frozenset(
    {
        "GET",
        "GETRANGE",
        "STRLEN",
        "EXISTS",
        "TYPE",
        "TTL",
        "PTTL",
        "HGET",
        "HGETALL",
        "HEXISTS",
        "HLEN",
        "HKEYS",
        "LRANGE",
        "LLEN",
        "LINDEX",
        "ZRANGE",
        "ZSCORE",
        "ZCARD",
        "XPENDING",
        "XINFO",
        "XLEN",
        "XRANGE",
        "SCAN",
        "PING",
        "CLUSTER",
        "INFO",
        "SET",
        "HSET",
        "ZADD",
        "ZREM",
        "UNLINK",
        "DEL",
        "EXPIRE",
        "PEXPIRE",
        "FLUSHALL",
        "MULTI",
        "EXEC",
    }
)


def _name(command: Sequence[Any]) -> str:
    first = command[0] if command else b""
    return (first.decode("ascii", "replace") if isinstance(first, (bytes, bytearray)) else str(first)).upper()


@dataclass(frozen=True)
class Request:
    """Commands sent together to the node owning ``key``, and how to read their replies.

    ``reader`` must consume exactly the replies of ``commands``; it returns the
    request's result (an :class:`ErrorReply` for a redirect or an error).
    ``idempotent`` says whether the request may be sent again after a broken
    connection; ``None`` (the default) decides from the command names
    (:data:`IDEMPOTENT_COMMANDS`).
    """

    key: str | bytes | None
    commands: Sequence[Sequence[Any]]
    reader: Reader | None = None
    idempotent: bool | None = None

    def read(self, conn: Connection) -> Any:
        return (self.reader or read_replies(len(self.commands)))(conn)

    @property
    def retryable(self) -> bool:
        """Whether sending the request twice has the effect of sending it once."""
        if self.idempotent is not None:
            return self.idempotent
        return all(_name(command) in IDEMPOTENT_COMMANDS for command in self.commands)


def scan_command(pattern: str, count: int) -> tuple[Any, ...]:
    """The ``SCAN`` that starts a scan of the keys matching ``pattern``, ``count`` keys looked at per call
    (:meth:`Transport.scan_pages` goes on with its reply)."""
    return ("SCAN", b"0", "MATCH", pattern, "COUNT", count)


def _broken(error: StoreConnectionError, sent: bool) -> StoreConnectionError:
    """``error`` marked with whether the failed attempt may have reached a server (for the retry logic)."""
    error.request_sent = sent
    return error


def _not_run(result: Any, completely: bool) -> bool:
    """Whether a request's result is (``completely``: only) replies saying the command was not run."""
    if isinstance(result, ErrorReply):
        return result.split(" ", 1)[0] in _NOT_RUN_REPLIES
    if type(result) is not list or not result:
        return False
    flags = [isinstance(r, ErrorReply) and r.split(" ", 1)[0] in _NOT_RUN_REPLIES for r in result]
    return all(flags) if completely else any(flags)


def _any_not_run(results: list[Any]) -> bool:
    for result in results:  # the hot path of every call: most results are values, not errors or lists
        if (isinstance(result, ErrorReply) or type(result) is list) and _not_run(result, completely=False):
            return True
    return False


def _redirect_of(result: Any) -> tuple[str, Address] | None:
    if isinstance(result, ErrorReply):
        return result.redirect
    if isinstance(result, list):  # a transaction: MOVED shows on a queued command
        for item in result:
            if isinstance(item, ErrorReply) and item.redirect:
                return item.redirect
    return None


@dataclass
class _Pool:
    pid: int = field(default_factory=os.getpid)
    lock: threading.Lock = field(default_factory=threading.Lock)
    idle: dict[Address, list[Connection]] = field(default_factory=dict)


class Transport:
    """Connections to one store (standalone, Unix socket or cluster).

    Parameters
    ----------
    address
        ``host:port``, ``unix:///path`` or comma-separated cluster nodes.
    password
        Sent with ``AUTH`` on every new connection.
    password_file
        The credentials file ``password`` was read from, if it was: then a
        server without a password is used without it (see :class:`Connection`).
    connect_timeout, socket_timeout
        Seconds; ``None`` waits forever.
    retry_window
        Seconds during which a request that failed on a broken connection is
        tried again (0: never).
    """

    def __init__(
        self,
        address: str,
        *,
        password: str | None = None,
        password_file: str | None = None,
        connect_timeout: float | None = 10.0,
        socket_timeout: float | None = None,
        retry_window: float = 2.0,
    ) -> None:
        self.seeds = parse_addresses(address)
        self.address = format_addresses(self.seeds)
        self._password = password
        self._password_file = password_file
        self._connect_timeout = connect_timeout
        self._socket_timeout = socket_timeout
        self._retry_window = retry_window
        self._pool = _Pool()
        self._topology_lock = threading.Lock()
        self._slots: list[Address] | None = None
        self._cluster: bool | None = None

    # -- topology --------------------------------------------------------------

    @property
    def is_cluster(self) -> bool:
        """Whether the store is a cluster (asked from the server on first use)."""
        if self._cluster is None:
            self.refresh_topology()
        return bool(self._cluster)

    def refresh_topology(self) -> None:
        """Ask the servers whether they form a cluster and which node owns which slot."""
        with self._topology_lock:
            if self.seeds[0].is_unix:
                self._cluster, self._slots = False, None
                return
            known = list(dict.fromkeys([*self.seeds, *(self._slots or ())]))
            failure: Exception | None = None
            for node in known:
                try:  # several nodes: ask the next one at once rather than wait for this one
                    reply = self._call_on(node, ("CLUSTER", "SLOTS"), retry=len(known) == 1)
                except StoreConnectionError as exc:
                    failure = exc
                    continue
                if isinstance(reply, ErrorReply):
                    if "cluster support disabled" not in reply:
                        raise error_from_reply(reply, f"CLUSTER SLOTS at {node}")
                    if len(self.seeds) > 1:
                        raise ValueError(f"address {self.address} lists several nodes but {node} is not a cluster node")
                    self._cluster, self._slots = False, None
                    return
                self._slots = self._slot_map(reply, node)
                self._cluster = True
                return
            raise failure or StoreConnectionError(f"no node of the store at {self.address} answered")

    @staticmethod
    def _slot_map(reply: list[Any], asked: Address) -> list[Address]:
        slots: list[Address | None] = [None] * SLOT_COUNT
        for entry in reply:
            start, end, primary = entry[0], entry[1], entry[2]
            host = primary[0].decode() if primary[0] else asked.host
            node = Address(host=host, port=int(primary[1]))
            slots[start : end + 1] = [node] * (end + 1 - start)
        missing = slots.count(None)
        if missing:
            raise StoreConnectionError(
                f"the cluster at {asked} does not cover all slots ({missing} unassigned): is it still starting?"
            )
        return slots  # type: ignore[return-value]

    def node_for(self, key: str | bytes | None) -> Address:
        """The server that owns ``key`` (any node for ``None``)."""
        if not self.is_cluster:
            return self.seeds[0]
        slots = self._slots
        assert slots is not None
        return slots[0] if key is None else slots[key_slot(key)]

    def scan(self, pattern: str, *, count: int = 1000) -> list[list[str]]:
        """Keys matching a glob, one list per server (``SCAN`` on every shard, never ``KEYS``; ``count`` keys
        looked at per call). A key that is not UTF-8 comes back with U+FFFD where its bytes are not."""
        groups: dict[Address, list[str]] = {node: [] for node in self.nodes()}
        for node, page in self.scan_pages(pattern, count=count):
            groups[node] += page
        return list(groups.values())

    def scan_pages(
        self, pattern: str, *, count: int = 1000, first: tuple[bytes, list[bytes]] | None = None
    ) -> Iterator[tuple[Address, list[str]]]:
        """:meth:`scan` one ``SCAN`` reply at a time, (server, keys): a caller holds one page, not every key.

        ``first``: the reply (cursor, keys) of a standalone server's first ``SCAN 0`` of ``pattern``, sent
        before in a pipeline with other commands: its keys are the first page, and the scan goes on from its
        cursor.
        """
        if first is not None and self.is_cluster:
            raise ValueError("scan_pages(first=...) goes on with one server's scan: not for a cluster")
        for node in self.nodes():
            cursor, batch = first if first is not None else self.execute_on(node, *scan_command(pattern, count))
            while True:
                yield node, [k.decode("utf-8", "replace") for k in batch]
                if cursor == b"0":
                    break
                cursor, batch = self.execute_on(node, "SCAN", cursor, "MATCH", pattern, "COUNT", count)

    def nodes(self) -> list[Address]:
        """Every primary server of the store."""
        if not self.is_cluster:
            return [self.seeds[0]]
        return sorted(set(self._slots or ()))

    # -- connections -----------------------------------------------------------

    def _checkout(self, node: Address) -> Connection:
        """An idle pooled connection the server has not closed, else a new one.

        Raises :class:`StoreConnectionError` (``request_sent=False``) when the server cannot be reached.
        """
        pool = self._pool
        if pool.pid != os.getpid():  # forked: the parent's sockets are not ours
            pool = self._pool = _Pool()
        while True:
            with pool.lock:
                idle = pool.idle.get(node)
                conn = idle.pop() if idle else None
            if conn is None:
                break
            if conn.is_idle_usable():
                return conn
            conn.close()  # closed by the server (restarted?): so are the others, probably
            self._drop_idle(node)
        try:
            return Connection(
                node,
                password=self._password,
                password_file=self._password_file,
                connect_timeout=self._connect_timeout,
                socket_timeout=self._socket_timeout,
                deadline=current_deadline(),
            )
        except ProtocolError:
            raise
        except StoreConnectionError as exc:
            raise _broken(exc, sent=False) from None

    def _drop_idle(self, node: Address) -> None:
        """Close the idle connections to ``node`` (after one of them was found broken)."""
        pool = self._pool
        with pool.lock:
            conns = pool.idle.pop(node, [])
        for conn in conns:
            conn.close()

    def _checkin(self, conn: Connection) -> None:
        pool = self._pool
        if conn.broken or conn.pid != pool.pid:
            return
        with pool.lock:
            idle = pool.idle.setdefault(conn.address, [])
            if len(idle) < _MAX_IDLE_PER_NODE:
                idle.append(conn)
                return
        conn.close()

    def _call_on(self, node: Address, command: Sequence[Any], *, retry: bool = True) -> Any:
        requests = [Request(None, (command,))]
        if not retry:
            return self._run_on(node, requests, None)[0]
        return self._retrying(requests, lambda: self._run_on(node, requests, None))[0]

    def close(self) -> None:
        """Close every idle connection (connections in use close when returned broken)."""
        pool = self._pool
        with pool.lock:
            for conns in pool.idle.values():
                for conn in conns:
                    conn.close()
            pool.idle.clear()

    # -- running requests --------------------------------------------------------

    def run(self, requests: Sequence[Request], *, timeout: float | None = None) -> list[Any]:
        """Run requests pipelined (one round trip per node) and return their results in order.

        Error replies come back as :class:`ErrorReply` values; redirections are
        followed. Connection failures are retried as the module says, then
        raise :class:`StoreConnectionError`. ``timeout`` (seconds) replaces the
        I/O timeout for requests that block on purpose (``BLPOP``,
        ``XREADGROUP ... BLOCK``); the deadline of the call
        (:func:`~simdask.transport.deadline`) bounds everything.
        """
        if not self.is_cluster:  # one server, no redirections: the hot path of every call
            node = self.seeds[0]
            return self._retrying(requests, lambda: self._run_on(node, requests, timeout))
        return self._retrying(requests, lambda: self._run_cluster(requests, timeout))

    def _retrying(self, requests: Sequence[Request], attempt: Callable[[], list[Any]]) -> list[Any]:
        """Run ``attempt`` (one round of ``requests``) again after a connection failure, within the retry
        window and the call's deadline, unless that could apply a request twice."""
        tries = 0
        window_end: float | None = None
        while True:
            failure: StoreConnectionError | None = None
            results: list[Any] | None = None
            try:
                results = attempt()
            except ProtocolError:
                raise
            except StoreConnectionError as exc:
                if exc.request_sent is None:
                    raise  # not a broken connection (e.g. a cluster still forming)
                if exc.request_sent and not all(r.retryable for r in requests):
                    commands = ", ".join(sorted({_name(c) for r in requests for c in r.commands}))
                    error = StoreConnectionError(
                        f"{exc}; the request ({commands}) had been sent and is never sent twice: "
                        "it may or may not have been applied"
                    )
                    error.request_sent = True
                    raise error from None
                self.close()  # the other idle connections are probably broken too
                failure = exc
            else:
                if not _any_not_run(results):
                    return results
                if not (all(r.retryable for r in requests) or all(_not_run(r, completely=True) for r in results)):
                    return results  # some commands ran: the caller reports the others' errors
            now = time.monotonic()
            if window_end is None:
                window_end = now + self._retry_window
                deadline = current_deadline()
                if deadline is not None:
                    window_end = min(window_end, deadline)
            pause = _BACKOFF[min(tries, len(_BACKOFF) - 1)]
            if now + pause >= window_end:
                if failure is None:
                    assert results is not None
                    return results  # still not ready: the caller raises what the replies say
                if tries:
                    window = f"{self._retry_window:g} s"
                    error = type(failure)(f"{failure} (tried {tries + 1} times within {window})")
                    error.request_sent = failure.request_sent
                    raise error from None
                raise failure
            if tries == 0:
                log.info("retrying a request to %s: %s", self.address, failure or "the store is not ready")
            time.sleep(pause)
            tries += 1

    def _run_cluster(self, requests: Sequence[Request], timeout: float | None) -> list[Any]:
        results: list[Any] = [None] * len(requests)
        pending = list(range(len(requests)))
        asking: dict[int, Address] = {}
        for _ in range(_MAX_REDIRECTS):
            by_node: dict[Address, list[int]] = {}
            for index in pending:
                node = asking.get(index) or self.node_for(requests[index].key)
                by_node.setdefault(node, []).append(index)
            self._run_grouped(requests, by_node, asking, results, timeout)
            pending = []
            asking = {}
            for index in sorted(i for group in by_node.values() for i in group):
                redirect = _redirect_of(results[index])
                if redirect is None:
                    continue
                kind, node = redirect
                if kind == "MOVED":
                    self.refresh_topology()
                else:
                    asking[index] = node
                pending.append(index)
            if not pending:
                return results
        raise ResponseError(f"too many cluster redirections at {self.address}: {results[pending[0]]}")

    def _limit(self, conn: Connection, timeout: float | None) -> None:
        deadline = current_deadline()
        if timeout is not None or deadline is not None:
            conn.set_limits(self._socket_timeout if timeout is None else timeout, deadline)

    def _run_on(self, node: Address, requests: Sequence[Request], timeout: float | None) -> list[Any]:
        conn = self._checkout(node)
        sent = conn.bytes_sent
        try:
            self._limit(conn, timeout)
            conn.send([command for request in requests for command in request.commands])
            results = [request.read(conn) for request in requests]
            conn.reset_limits()
        except ProtocolError:
            conn.close()
            raise
        except StoreConnectionError as exc:
            conn.close()
            raise _broken(exc, conn.bytes_sent > sent) from None
        except BaseException:
            conn.close()
            raise
        self._checkin(conn)
        return results

    def _run_grouped(
        self,
        requests: Sequence[Request],
        by_node: dict[Address, list[int]],
        asking: dict[int, Address],
        results: list[Any],
        timeout: float | None,
    ) -> None:
        # Send to every node first, then read: the nodes work in parallel.
        conns: list[tuple[Connection, list[int]]] = []
        marks: list[int] = []
        try:
            for node, indices in by_node.items():
                conn = self._checkout(node)
                conns.append((conn, indices))
                marks.append(conn.bytes_sent)
                self._limit(conn, timeout)
                commands: list[Sequence[Any]] = []
                for index in indices:
                    if index in asking:
                        commands.append(("ASKING",))
                    commands.extend(requests[index].commands)
                conn.send(commands)
            for conn, indices in conns:
                for index in indices:
                    if index in asking:
                        conn.read_reply()
                    results[index] = requests[index].read(conn)
        except ProtocolError:
            for conn, _ in conns:
                conn.close()
            raise
        except StoreConnectionError as exc:  # what went to any node counts as sent
            sent = bool(exc.request_sent) or any(conn.bytes_sent > mark for (conn, _), mark in zip(conns, marks))
            for conn, _ in conns:
                conn.close()
            raise _broken(exc, sent) from None
        except BaseException:
            for conn, _ in conns:
                conn.close()
            raise
        for conn, _ in conns:
            conn.reset_limits()
            self._checkin(conn)

    def execute(self, key: str | bytes | None, *command: Any, context: str = "") -> Any:
        """Run one command on the node owning ``key``; raise on an error reply."""
        reply = self.run([Request(key, (command,))])[0]
        if isinstance(reply, ErrorReply):
            raise error_from_reply(reply, context or f"{command[0]} at {self.node_for(key)}")
        return reply

    def execute_on(self, node: Address, *command: Any) -> Any:
        """Run one command on one given node; raise on an error reply."""
        reply = self._call_on(node, command)
        if isinstance(reply, ErrorReply):
            raise error_from_reply(reply, f"{command[0]} at {node}")
        return reply

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the recipe (address and options), never the sockets."""
        return {
            "address": self.address,
            "password": self._password,
            "password_file": self._password_file,
            "connect_timeout": self._connect_timeout,
            "socket_timeout": self._socket_timeout,
            "retry_window": self._retry_window,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<Transport {self.address}>"
