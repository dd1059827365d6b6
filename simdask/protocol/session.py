"""``Session``: one store and the settings every client of it writes with.

A session owns a :class:`~simdask.transport.Transport` and the chunk
settings of ``docs/protocol.md`` (``chunk_threshold``, ``chunk_bytes``), with
the options it was made from. Every function of :mod:`simdask.protocol`
works on one. It pickles as those options, never as sockets: a Dask worker
that unpickles a session reconnects on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .. import config, env
from ..transport import Transport, address_from_env

__all__ = ["Session", "SessionOptions"]

#: The largest chunk a session writes: values over 512 MB hit the server's limit.
_MAX_CHUNK_BYTES = 512 * 2**20


@dataclass(frozen=True)
class SessionOptions:
    """Everything needed to reach a store and write to it, with every default resolved."""

    address: str
    password: str | None
    connect_timeout: float | None
    socket_timeout: float | None
    chunk_threshold: int
    chunk_bytes: int

    @classmethod
    def resolve(
        cls,
        address: str | None = None,
        *,
        password: str | None = None,
        connect_timeout: float | None = None,
        socket_timeout: float | None = None,
        chunk_threshold: int | str | None = None,
        chunk_bytes: int | str | None = None,
    ) -> SessionOptions:
        """Options from the arguments; each ``None`` is read from the environment or the config.

        ``address`` falls back on ``SIMDASK_ADDRESS``, ``password`` on
        ``SIMDASK_PASSWORD``, timeouts and chunk sizes on the ``simdask.client``
        config (``dask.config``).
        """
        options = cls(
            address=address_from_env(address),
            password=password if password is not None else os.environ.get(env.PASSWORD) or None,
            connect_timeout=config.get("client.connect-timeout", connect_timeout),
            socket_timeout=config.get("client.socket-timeout", socket_timeout),
            chunk_threshold=config.get_bytes("client.chunk-threshold", chunk_threshold),
            chunk_bytes=config.get_bytes("client.chunk-bytes", chunk_bytes),
        )
        if not 0 < options.chunk_bytes <= _MAX_CHUNK_BYTES:
            raise ValueError(f"chunk_bytes must be in (0, 512 MiB], got {options.chunk_bytes}")
        return options


class Session:
    """Connections to one store plus the chunk settings writes use.

    Parameters
    ----------
    options
        The resolved options (:meth:`SessionOptions.resolve`).

    Examples
    --------
    >>> session = Session(SessionOptions.resolve(store.address))   # doctest: +SKIP
    >>> session.connect()                                           # doctest: +SKIP
    """

    __slots__ = ("_options", "_transport")

    def __init__(self, options: SessionOptions) -> None:
        self._options = options
        self._transport = Transport(
            options.address,
            password=options.password,
            connect_timeout=options.connect_timeout,
            socket_timeout=options.socket_timeout,
        )

    @property
    def options(self) -> SessionOptions:
        """The options this session was made from."""
        return self._options

    @property
    def transport(self) -> Transport:
        """The pooled, fork-safe connections to the store."""
        return self._transport

    @property
    def address(self) -> str:
        """The store's address as this session reaches it."""
        return self._transport.address

    @property
    def is_cluster(self) -> bool:
        """Whether the store is a cluster (asked from the server on first use)."""
        return self._transport.is_cluster

    @property
    def chunk_threshold(self) -> int:
        """Tensors with more data bytes than this are written in chunks."""
        return self._options.chunk_threshold

    @property
    def chunk_bytes(self) -> int:
        """The size of each chunk of a chunked tensor."""
        return self._options.chunk_bytes

    def connect(self) -> None:
        """Ask the store for its topology now: fail here, naming the address, when it is not there."""
        self._transport.refresh_topology()

    def close(self) -> None:
        """Close idle connections; the session reconnects if used again."""
        self._transport.close()

    def __getstate__(self) -> SessionOptions:
        """Pickle the options, never the sockets."""
        return self._options

    def __setstate__(self, options: SessionOptions) -> None:
        self.__init__(options)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"<simdask.protocol.Session {self.address}>"
