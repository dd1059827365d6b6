"""``Session``: one store and the settings every client of it writes with.

A session owns a :class:`~simdask.transport.Transport` and the chunk
settings of ``docs/protocol.md`` (``chunk_threshold``, ``chunk_bytes``), with
the options it was made from. Every function of :mod:`simdask.protocol`
works on one. It pickles as those options, never as sockets: a Dask worker
that unpickles a session reconnects on first use.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .. import config, env, wire
from ..transport import Transport, address_from_env, deadline, find_password

__all__ = ["Session", "SessionOptions", "seconds_setting"]


def seconds_setting(explicit: Any, variable: str, setting: str, *, zero_means_forever: bool) -> float | None:
    """A time limit in seconds: ``explicit`` if not None, else the environment ``variable``, else the
    ``simdask.<setting>`` config (``None`` there: no limit).

    The one place where simdask's time limits are resolved. A value that is
    not a number, negative, or 0 where 0 has no meaning raises
    :class:`ValueError` naming where it came from; 0 means "no limit" where
    ``zero_means_forever``.

    >>> seconds_setting(None, "SIMDASK_NOT_SET", "client.connect-timeout", zero_means_forever=False)
    10.0
    """
    if explicit is not None:
        value, source = explicit, "the argument"
    elif os.environ.get(variable, "").strip():
        value, source = os.environ[variable].strip(), f"the environment variable {variable}"
    else:
        value, source = config.get(setting), f"the setting simdask.{setting}"
        if value is None:
            return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source} must be a number of seconds, got {value!r}") from None
    if math.isnan(seconds) or seconds < 0 or (seconds == 0 and not zero_means_forever):
        limit = ">= 0 (0: no limit)" if zero_means_forever else "> 0"
        raise ValueError(f"{source} must be {limit} seconds, got {value!r}")
    return None if seconds == 0 or math.isinf(seconds) else seconds


@dataclass(frozen=True)
class SessionOptions:
    """Everything needed to reach a store and write to it, with every default resolved."""

    address: str
    password: str | None
    connect_timeout: float | None
    socket_timeout: float | None
    chunk_threshold: int
    chunk_bytes: int
    run_timeout: float | None = 60.0
    retry_window: float = 2.0
    #: The credentials file the password was read from (``None``: given, or ``SIMDASK_PASSWORD``).
    password_file: str | None = None

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
        run_timeout: float | None = None,
        retry_window: float | None = None,
    ) -> SessionOptions:
        """Options from the arguments; each ``None`` is read from the environment or the config.

        ``address`` falls back on ``SIMDASK_ADDRESS``. ``password`` falls
        back on ``SIMDASK_PASSWORD``, else on the credentials file a store of
        this user wrote for (one of) the address(es) (:mod:`simdask.transport.credentials`),
        else none; ``password=""`` sends none. The time limits take the argument, else
        ``SIMDASK_CONNECT_TIMEOUT`` / ``SIMDASK_IO_TIMEOUT`` (0: no limit) /
        ``SIMDASK_RUN_TIMEOUT``, else the ``simdask.client.connect-timeout`` /
        ``simdask.client.socket-timeout`` / ``simdask.inference.run-timeout``
        config (``dask.config``); chunk sizes and the retry window come from
        the ``simdask.client`` config.
        """
        window = float(config.get("client.retry-window", retry_window))
        if not window >= 0:
            raise ValueError(f"retry_window must be >= 0 seconds, got {window}")
        address = address_from_env(address)
        password_file = None
        if password is None:
            password = os.environ.get(env.PASSWORD) or None
        if password is None and (found := find_password(address)) is not None:
            password, password_file = found[0], str(found[1])
        options = cls(
            address=address,
            password=password,
            password_file=password_file,
            connect_timeout=seconds_setting(
                connect_timeout, env.CONNECT_TIMEOUT, "client.connect-timeout", zero_means_forever=False
            ),
            socket_timeout=seconds_setting(
                socket_timeout, env.IO_TIMEOUT, "client.socket-timeout", zero_means_forever=True
            ),
            chunk_threshold=config.get_bytes("client.chunk-threshold", chunk_threshold),
            chunk_bytes=config.get_bytes("client.chunk-bytes", chunk_bytes),
            run_timeout=seconds_setting(
                run_timeout, env.RUN_TIMEOUT, "inference.run-timeout", zero_means_forever=False
            ),
            retry_window=window,
        )
        if not 0 < options.chunk_bytes <= wire.MAX_CHUNK_BYTES:
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
            password_file=options.password_file,
            connect_timeout=options.connect_timeout,
            socket_timeout=options.socket_timeout,
            retry_window=options.retry_window,
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
        """Ask the store for its topology now: fail here, naming the address, when it is not there.

        Connecting, authenticating and the topology question together take at
        most the connect timeout: a store that accepts connections but does not
        answer (a stopped process) raises :class:`~simdask.errors.StoreTimeoutError`.
        """
        with deadline(self._options.connect_timeout):
            self._transport.refresh_topology()

    @contextmanager
    def limit(self, seconds: float | None) -> Iterator[float | None]:
        """Every store call made in the block ends within ``seconds`` (``None``: no new limit).

        Yields the deadline (``time.monotonic()``) in effect; see
        :func:`simdask.transport.deadline`.
        """
        with deadline(seconds) as when:
            yield when

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
