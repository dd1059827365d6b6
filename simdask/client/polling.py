"""SmartRedis-style polling: try a check a number of times, a fixed interval apart, within a time limit."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..protocol import Session

__all__ = ["MIN_POLL_S", "poll"]

#: The shortest time limit of a poll (seconds): even ``num_tries=1`` gives its one check this long.
MIN_POLL_S = 1.0


def poll(session: Session, check: Callable[[], bool], poll_frequency_ms: int, num_tries: int) -> bool:
    """Call ``check`` up to ``num_tries`` times, ``poll_frequency_ms`` apart; whether it succeeded.

    The whole poll takes at most ``num_tries * poll_frequency_ms`` (at least
    :data:`MIN_POLL_S`): a check that finds nothing in that time makes it
    return ``False``, and a store that does not answer within it raises
    :class:`~simdask.errors.StoreTimeoutError`.
    """
    if num_tries < 1 or poll_frequency_ms < 0:
        raise ValueError(f"num_tries must be >= 1 and poll_frequency_ms >= 0, got {num_tries}, {poll_frequency_ms}")
    budget = max(MIN_POLL_S, num_tries * poll_frequency_ms / 1000)
    with session.limit(budget) as deadline:
        assert deadline is not None
        for attempt in range(num_tries):
            if check():
                return True
            pause = poll_frequency_ms / 1000
            if attempt + 1 == num_tries or time.monotonic() + pause >= deadline:
                return False
            time.sleep(pause)
    return False
