"""The server commands of :class:`simdask.Client`: each node's INFO, CLUSTER INFO, CONFIG, SAVE and FLUSHDB.

What SmartRedis offers as ``get_db_node_info``, ``get_db_cluster_info``,
``config_get``, ``config_set``, ``save`` and ``flush_db``, on Valkey's own
commands. Every call works on every node of the store (each shard of a
cluster), or on the one node ``address`` names: as :meth:`AdminMethods.db_addresses`
gives it (``host:port``, ``unix:///path``; a ``tcp://`` in front is allowed),
or by a host name that resolves to the same address with the same port.
Reads answer per node: node address -> result. The C client has the same
calls on one node (``sd_db_info``, ``sd_config_get``, ... in ``simdask.h``).
"""

from __future__ import annotations

import socket
from typing import Any

from ..protocol import Session
from ..transport.address import Address, parse_addresses

__all__ = ["AdminMethods", "parse_info"]


def parse_info(text: str) -> dict[str, dict[str, str]]:
    """An ``INFO`` reply as section -> field -> value (``# Server`` starts section ``Server``).

    >>> parse_info("# Server\\r\\nredis_version:7.2.4\\r\\n\\r\\n# Keyspace\\r\\ndb0:keys=1,expires=0\\r\\n")
    {'Server': {'redis_version': '7.2.4'}, 'Keyspace': {'db0': 'keys=1,expires=0'}}
    """
    sections: dict[str, dict[str, str]] = {}
    current = sections.setdefault("", {})
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            current = sections.setdefault(line[1:].strip(), {})
        elif ":" in line:
            field, _, value = line.partition(":")
            current[field] = value
    if not sections[""]:
        del sections[""]
    return sections


def _text(reply: Any) -> str:
    return reply.decode() if isinstance(reply, (bytes, bytearray)) else str(reply)


def _host_ips(host: str) -> set[str]:
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except OSError:
        return set()


class AdminMethods:
    """Mixin of :class:`~simdask.Client`: server commands on the store's nodes."""

    _session: Session

    def db_addresses(self) -> list[str]:
        """The address of every node serving the store (each primary of a cluster; one otherwise)."""
        return [str(node) for node in self._session.transport.nodes()]

    def db_info(self, address: str | None = None, section: str = "everything") -> dict[str, dict[str, dict[str, str]]]:
        """``INFO section`` of each node (or of the node at ``address``): node -> section -> field -> value.

        >>> client.db_info()["127.0.0.1:6379"]["Persistence"]["rdb_last_save_time"]   # doctest: +SKIP
        '1718000000'
        """
        transport = self._session.transport
        return {str(n): parse_info(_text(transport.execute_on(n, "INFO", section))) for n in self._nodes(address)}

    def cluster_info(self, address: str | None = None) -> dict[str, dict[str, str]]:
        """``CLUSTER INFO`` of each node (or of the node at ``address``): node -> field -> value.

        A store that is not a cluster raises :class:`ValueError`.
        """
        if not self._session.is_cluster:
            raise ValueError(f"the store at {self._session.address} is not a cluster: it has no CLUSTER INFO")
        transport = self._session.transport
        return {
            str(n): parse_info(_text(transport.execute_on(n, "CLUSTER", "INFO"))).get("", {})
            for n in self._nodes(address)
        }

    def config_get(self, pattern: str, address: str | None = None) -> dict[str, dict[str, str]]:
        """``CONFIG GET pattern`` on each node (or the node at ``address``): node -> parameter -> value.

        A pattern matching no parameter gives an empty mapping for the node.
        """
        found = {}
        for node in self._nodes(address):
            reply = self._session.transport.execute_on(node, "CONFIG", "GET", pattern)
            pairs = list(reply.items()) if isinstance(reply, dict) else list(zip(reply[::2], reply[1::2]))
            found[str(node)] = {_text(name): _text(value) for name, value in pairs}
        return found

    def config_set(self, name: str, value: str, address: str | None = None) -> None:
        """``CONFIG SET name value`` on every node (or the node at ``address``); takes effect at once.

        A parameter the server does not know, or a value it refuses, raises
        :class:`~simdask.errors.ResponseError` with the server's message.
        """
        for node in self._nodes(address):
            self._session.transport.execute_on(node, "CONFIG", "SET", name, value)

    def save(self, address: str | None = None) -> None:
        """``SAVE``: every node (or the node at ``address``) writes its snapshot to its directory now."""
        for node in self._nodes(address):
            self._session.transport.execute_on(node, "SAVE")

    def flush_db(self, address: str | None = None) -> None:
        """``FLUSHDB``: delete every key of every node (or only of the node, the shard, at ``address``)."""
        for node in self._nodes(address):
            self._session.transport.execute_on(node, "FLUSHDB")

    def _nodes(self, address: str | None) -> list[Address]:
        """Every node, or the one node ``address`` names; a :class:`ValueError` naming the nodes otherwise."""
        nodes = self._session.transport.nodes()
        if address is None:
            return nodes
        text = address.strip()
        wanted = parse_addresses(text[len("tcp://") :] if text.startswith("tcp://") else text)
        if len(wanted) != 1:
            raise ValueError(f"{address!r} names {len(wanted)} nodes; give one node address")
        node = wanted[0]
        if node in nodes:
            return [node]
        if not node.is_unix:
            ips = _host_ips(node.host)
            for candidate in nodes:
                if not candidate.is_unix and candidate.port == node.port and ips & _host_ips(candidate.host):
                    return [candidate]
        known = ", ".join(str(n) for n in nodes)
        raise ValueError(f"{address!r} is not a node of the store at {self._session.address} (its nodes: {known})")
