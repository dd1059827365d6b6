"""SmartRedis-style polling: try a check a number of times, a fixed interval apart."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["poll"]


def poll(check: Callable[[], bool], poll_frequency_ms: int, num_tries: int) -> bool:
    """Call ``check`` up to ``num_tries`` times, ``poll_frequency_ms`` apart; whether it succeeded."""
    if num_tries < 1 or poll_frequency_ms < 0:
        raise ValueError(f"num_tries must be >= 1 and poll_frequency_ms >= 0, got {num_tries}, {poll_frequency_ms}")
    for attempt in range(num_tries):
        if check():
            return True
        if attempt + 1 < num_tries:
            time.sleep(poll_frequency_ms / 1000)
    return False
