"""Which node a process runs on, as simdask names nodes for locality.

A node's name is ``SIMDASK_NODE`` when set (several simulated nodes on one
machine each set their own), else the host name up to its first dot, which
is what Slurm and PBS call the node. Stores, Dask workers, serving loops
and callers compare these names to keep data and requests on their node.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any, Protocol

from . import env
from .transport import Address, ErrorReply, Transport, find_password

__all__ = ["check_node_name", "node_name", "store_nodes"]

#: What a node name may hold: the characters Valkey accepts in ``cluster-announce-hostname``.
_NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*")


class _HasSession(Protocol):
    """A :class:`~simdask.Client` (anything with ``session.transport``)."""

    @property
    def session(self) -> Any: ...


def node_name() -> str:
    """This process's node: ``SIMDASK_NODE``, else the short host name."""
    return os.environ.get(env.NODE) or socket.gethostname().split(".")[0]


def check_node_name(name: str) -> str:
    """``name`` if it can tag a store's servers (letters, digits, dots and hyphens, as host names); else
    :class:`ValueError` naming it."""
    if not isinstance(name, str) or not _NODE_NAME.fullmatch(name):
        raise ValueError(f"a node name holds letters, digits, dots and hyphens only (as host names), got {name!r}")
    return name


def store_nodes(store: str | Transport | _HasSession, *, password: str | None = None) -> dict[str, str | None]:
    """Which node each primary server of a store runs on: ``{server address: node name}``.

    Asked from the servers themselves: a store started by simdask tags each
    server with its node (Valkey's ``availability-zone``, which ``HELLO``
    reports to every client, and a cluster shard's
    ``cluster-announce-hostname``, which ``CLUSTER SLOTS`` reports), so any
    client learns it without ``CONFIG`` rights and ``FLUSHALL`` does not
    lose it. ``None`` for a server that does not say (started by something
    else, or a Redis server, which has no availability zone).

    Parameters
    ----------
    store
        An address (``host:port``, ``unix:///path``, a cluster list), a
        :class:`~simdask.Client` or its transport.
    password
        For an address: the store's password (default: ``SIMDASK_PASSWORD``,
        else this user's credentials file of the store, if any).

    Examples
    --------
    >>> with simdask.Store("cluster", nodes=["n0", "n1", "n2"]) as store:   # doctest: +SKIP
    ...     simdask.locality.store_nodes(store.address)
    {'127.0.0.1:20001': 'n0', '127.0.0.1:20002': 'n1', '127.0.0.1:20003': 'n2'}
    """
    if isinstance(store, str):
        password = password if password is not None else os.environ.get(env.PASSWORD) or None
        found = find_password(store) if password is None else None
        transport = Transport(
            store, password=found[0] if found else password, password_file=str(found[1]) if found else None
        )
        try:
            return _nodes_of(transport)
        finally:
            transport.close()
    return _nodes_of(store if isinstance(store, Transport) else store.session.transport)


def _nodes_of(transport: Transport) -> dict[str, str | None]:
    nodes: dict[Address, str | None] = dict.fromkeys(transport.nodes())
    if transport.is_cluster:  # one round trip for every shard's announced host name
        for entry in transport.execute(None, "CLUSTER", "SLOTS"):
            primary = entry[2]
            host = primary[0].decode() if primary[0] else transport.seeds[0].host
            address = Address(host=host, port=int(primary[1]))
            if address in nodes and len(primary) > 3:
                nodes[address] = _pairs(primary[3]).get("hostname") or None
    for address, node in nodes.items():
        if node is None:  # a standalone server, or a shard without a host name: its availability zone
            nodes[address] = _pairs(transport.execute_on(address, "HELLO", "2")).get("availability_zone") or None
    return {str(address): node for address, node in nodes.items()}


def _pairs(reply: Any) -> dict[str, str]:
    """A RESP2 flat ``[name, value, ...]`` reply as a dict of its text fields."""
    if isinstance(reply, ErrorReply) or not isinstance(reply, list):
        return {}
    out = {}
    for name, value in zip(reply[::2], reply[1::2]):
        if isinstance(name, bytes) and isinstance(value, bytes):
            out[name.decode()] = value.decode("utf-8", "replace")
    return out
