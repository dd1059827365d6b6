"""Deadlines: bound every store call made inside a block by what is left of one time limit.

A call with a time limit of its own (``run_model(timeout=...)``, ``watch``,
``poll_*``, connecting) opens a :func:`deadline`; every connection, send and
read made inside it waits at most what is left of it (and never longer than
the I/O timeout), so a frozen store cannot hold the call beyond its limit.
The deadline is a context variable: it follows the calling thread (and
asyncio task) and nests, the earlier deadline winning.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["deadline", "current_deadline", "time_left"]

_DEADLINE: ContextVar[float | None] = ContextVar("simdask_deadline", default=None)


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[float | None]:
    """Store calls made inside the block end within ``seconds`` from now (``None``: no new limit).

    Yields the deadline in effect (a ``time.monotonic()`` value, or ``None``).
    Do not hold the block open across a ``yield`` of a generator: the
    consumer's own calls would run under it.

    >>> with deadline(5) as when:
    ...     round(when - time.monotonic())
    5
    """
    if seconds is None:
        yield _DEADLINE.get()
        return
    when = time.monotonic() + max(0.0, seconds)
    outer = _DEADLINE.get()
    if outer is not None and outer < when:
        when = outer
    token = _DEADLINE.set(when)
    try:
        yield when
    finally:
        _DEADLINE.reset(token)


def current_deadline() -> float | None:
    """The deadline in effect (``time.monotonic()`` seconds), or ``None``."""
    return _DEADLINE.get()


def time_left() -> float | None:
    """Seconds left before the deadline in effect (possibly <= 0), or ``None`` without one."""
    when = _DEADLINE.get()
    return None if when is None else when - time.monotonic()
