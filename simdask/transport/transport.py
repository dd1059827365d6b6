"""Route commands to the right server: standalone or cluster, pooled, fork-safe.

A :class:`Transport` owns one pool of :class:`Connection` per server node. It
runs *requests* (one or more commands sent together, with a reader that
consumes their replies) in pipelines grouped by node, and follows cluster
``MOVED``/``ASK`` redirections. After a fork (Dask nannies, MPI launchers) the
child drops the parent's connections and opens its own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ResponseError, StoreConnectionError, error_from_reply
from .address import Address, format_addresses, parse_addresses
from .connection import Connection, ErrorReply
from .replies import Reader, read_replies
from .slots import SLOT_COUNT, key_slot

__all__ = ["Request", "Transport"]

_MAX_REDIRECTS = 5
_MAX_IDLE_PER_NODE = 8


@dataclass(frozen=True)
class Request:
    """Commands sent together to the node owning ``key``, and how to read their replies.

    ``reader`` must consume exactly the replies of ``commands``; it returns the
    request's result (an :class:`ErrorReply` for a redirect or an error).
    """

    key: str | bytes | None
    commands: Sequence[Sequence[Any]]
    reader: Reader | None = None

    def read(self, conn: Connection) -> Any:
        return (self.reader or read_replies(len(self.commands)))(conn)


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
    connect_timeout, socket_timeout
        Seconds; ``None`` waits forever.
    """

    def __init__(
        self,
        address: str,
        *,
        password: str | None = None,
        connect_timeout: float | None = 10.0,
        socket_timeout: float | None = None,
    ) -> None:
        self.seeds = parse_addresses(address)
        self.address = format_addresses(self.seeds)
        self._password = password
        self._connect_timeout = connect_timeout
        self._socket_timeout = socket_timeout
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
                try:
                    reply = self._call_on(node, ("CLUSTER", "SLOTS"))
                except StoreConnectionError as exc:
                    failure = exc
                    continue
                if isinstance(reply, ErrorReply):
                    if "cluster support disabled" not in reply:
                        raise error_from_reply(reply, f"CLUSTER SLOTS at {node}")
                    if len(self.seeds) > 1:
                        raise ValueError(
                            f"address {self.address} lists several nodes but {node} is not a cluster node"
                        )
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

    def scan(self, pattern: str) -> list[list[str]]:
        """Keys matching a glob, one list per server (``SCAN`` on every shard, never ``KEYS``)."""
        groups = []
        for node in self.nodes():
            found: list[str] = []
            cursor = b"0"
            while True:
                cursor, batch = self.execute_on(node, "SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
                found += [k.decode() for k in batch]
                if cursor == b"0":
                    break
            groups.append(found)
        return groups

    def nodes(self) -> list[Address]:
        """Every primary server of the store."""
        if not self.is_cluster:
            return [self.seeds[0]]
        return sorted(set(self._slots or ()))

    # -- connections -----------------------------------------------------------

    def _checkout(self, node: Address) -> Connection:
        pool = self._pool
        if pool.pid != os.getpid():  # forked: the parent's sockets are not ours
            pool = self._pool = _Pool()
        with pool.lock:
            idle = pool.idle.get(node)
            if idle:
                return idle.pop()
        return Connection(
            node,
            password=self._password,
            connect_timeout=self._connect_timeout,
            socket_timeout=self._socket_timeout,
        )

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

    def _call_on(self, node: Address, command: Sequence[Any]) -> Any:
        conn = self._checkout(node)
        try:
            reply = conn.call(*command)
        except BaseException:
            conn.close()
            raise
        self._checkin(conn)
        return reply

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
        followed. Connection failures raise :class:`StoreConnectionError`.
        ``timeout`` (seconds) replaces the socket timeout for requests that
        block on purpose (``BLPOP``, ``XREADGROUP ... BLOCK``).
        """
        if not self.is_cluster:  # one server, no redirections: the hot path of every call
            return self._run_on(self.seeds[0], requests, timeout)
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

    def _run_on(self, node: Address, requests: Sequence[Request], timeout: float | None) -> list[Any]:
        conn = self._checkout(node)
        try:
            if timeout is not None:
                conn.set_timeout(timeout)
            conn.send([command for request in requests for command in request.commands])
            results = [request.read(conn) for request in requests]
            if timeout is not None:
                conn.set_timeout(self._socket_timeout)
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
        try:
            for node, indices in by_node.items():
                conn = self._checkout(node)
                conns.append((conn, indices))
                if timeout is not None:
                    conn.set_timeout(timeout)
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
        except BaseException:
            for conn, _ in conns:
                conn.close()
            raise
        for conn, _ in conns:
            if timeout is not None:
                conn.set_timeout(self._socket_timeout)
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
            "connect_timeout": self._connect_timeout,
            "socket_timeout": self._socket_timeout,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<Transport {self.address}>"
