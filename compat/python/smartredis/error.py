"""SmartRedis's Python error classes, and the one table from simdask's errors to them.

The classes, their bases and constructor arguments are SmartRedis 0.6's. A
failing call raises ``<class>("<method> execution failed\\n<simdask's message>")``:
the message keeps simdask's text, which names the key, the address or the
model. Argument errors stay Python's own: ``TypeError`` for a wrong type (checked
before anything is sent), ``ValueError`` for a wrong value, ``FileNotFoundError``
for a missing file, as SmartRedis raises them.
"""

from __future__ import annotations

import os

from simdask import errors as sd

__all__ = [
    "RedisConnectionError",
    "RedisReplyError",
    "RedisRuntimeError",
    "RedisBadAllocError",
    "RedisDatabaseError",
    "RedisInternalError",
    "RedisTimeoutError",
    "RedisKeyError",
]


class RedisConnectionError(RuntimeError):
    """The client could not connect to the store (raised by ``Client()`` only)."""

    def __init__(self, cpp_error: str = "") -> None:
        message = f"{cpp_error}\n" if cpp_error else ""
        if "SSDB" in os.environ:
            message += f"Could not connect to Orchestrator at {os.environ['SSDB']}"
        super().__init__(message)


class RedisReplyError(RuntimeError):
    """Base class of the errors a call on the store raises."""

    def __init__(self, cpp_error: str, method: str = "", key: str = "") -> None:
        super().__init__(f"{method} execution failed\n{cpp_error}" if method else cpp_error)


class RedisRuntimeError(RedisReplyError):
    """The call could not be done (a model that failed, a refused server command, a bad state)."""


class RedisBadAllocError(RedisReplyError):
    """Memory could not be allocated."""


class RedisDatabaseError(RedisReplyError):
    """The store was lost or refused the data (full, unreachable, wrong password)."""


class RedisInternalError(RedisReplyError):
    """Anything else that went wrong inside the client."""


class RedisTimeoutError(RedisReplyError):
    """The store, or the inference service, did not answer in time."""


class RedisKeyError(RedisReplyError):
    """A tensor, dataset, model, script, field or option does not exist."""


#: simdask's errors that stay as they are: argument errors (a ``TypeError`` or ``ValueError``), as SmartRedis's.
PASSED_THROUGH: tuple[type[BaseException], ...] = (sd.UnsupportedDtypeError,)

#: The one table from simdask's errors to SmartRedis's, tried in order (the first matching class wins).
TRANSLATION: tuple[tuple[type[BaseException], type[RedisReplyError]], ...] = (
    (sd.ModelTimeoutError, RedisTimeoutError),
    (sd.StoreTimeoutError, RedisTimeoutError),
    (sd.WatchTimeoutError, RedisTimeoutError),
    (sd.KeyNotFoundError, RedisKeyError),
    (sd.RunNotFoundError, RedisKeyError),
    (sd.StoreFullError, RedisDatabaseError),
    (sd.AuthenticationError, RedisDatabaseError),
    (sd.StoreConnectionError, RedisDatabaseError),
    (sd.ModelError, RedisRuntimeError),
    (sd.ResponseError, RedisRuntimeError),
    (sd.TensorFormatError, RedisRuntimeError),
    (sd.TensorMismatchError, RedisRuntimeError),
    (sd.ConcurrentUpdateError, RedisRuntimeError),
    (sd.RunFailedError, RedisRuntimeError),
    (sd.ServiceStateError, RedisRuntimeError),
    (sd.SimdaskError, RedisInternalError),
    (MemoryError, RedisBadAllocError),
)


def translate(error: BaseException, method: str) -> BaseException | None:
    """The SmartRedis error for ``error`` raised inside ``method`` (``"Client.get_tensor"``); ``None``: keep it."""
    if isinstance(error, (RedisReplyError, RedisConnectionError, *PASSED_THROUGH)):
        return None
    for simdask_class, smartredis_class in TRANSLATION:
        if isinstance(error, simdask_class):
            return smartredis_class(str(error), method)
    return None
