"""The one exception hierarchy of simdask.

Every error simdask raises derives from :class:`SimdaskError`. Leaves also
derive from the matching builtin, so ``except KeyError`` or ``except
ConnectionError`` work as a user expects. Messages name the key, the address
or the model concerned.
"""

from __future__ import annotations

__all__ = [
    "SimdaskError",
    "StoreError",
    "ServerNotFoundError",
    "StoreStartError",
    "StoreConnectionError",
    "StoreTimeoutError",
    "AuthenticationError",
    "ResponseError",
    "StoreFullError",
    "WrongTypeError",
    "KeyNotFoundError",
    "TensorFormatError",
    "UnsupportedDtypeError",
    "TensorMismatchError",
    "ConcurrentUpdateError",
    "ModelError",
    "ModelTimeoutError",
    "ExperimentError",
    "LaunchError",
    "JobFailedError",
    "ExperimentTimeoutError",
    "error_from_reply",
]


class SimdaskError(Exception):
    """Base class of every error simdask raises."""


class StoreError(SimdaskError):
    """Starting, stopping or inspecting a store failed."""


class ServerNotFoundError(StoreError, FileNotFoundError):
    """No ``valkey-server``/``redis-server`` binary could be found."""


class StoreStartError(StoreError, RuntimeError):
    """A store server could not start (port taken, bad option, died on start)."""


class StoreConnectionError(SimdaskError, ConnectionError):
    """The store at an address cannot be reached or the connection was lost."""


class StoreTimeoutError(SimdaskError, TimeoutError):
    """The store did not answer within the deadline."""


class AuthenticationError(SimdaskError, PermissionError):
    """The store refused the password (or needs one)."""


class ResponseError(SimdaskError):
    """The store answered a command with an error reply."""


class StoreFullError(ResponseError, MemoryError):
    """The store reached its ``maxmemory`` and refuses writes (no eviction)."""


class WrongTypeError(ResponseError, TypeError):
    """A key holds a value of another kind (e.g. a list where a tensor was expected)."""


class KeyNotFoundError(SimdaskError, KeyError):
    """A tensor, dataset, list or key does not exist in the store."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class TensorFormatError(SimdaskError, ValueError):
    """A stored value is not a valid simdask tensor (corrupt, truncated, foreign)."""


class UnsupportedDtypeError(SimdaskError, TypeError):
    """An array's dtype has no code in the wire format (object, strings, records)."""


class TensorMismatchError(SimdaskError, ValueError):
    """A stored tensor does not fit the destination (shape or dtype differ)."""


class ConcurrentUpdateError(SimdaskError, RuntimeError):
    """A chunked tensor was overwritten again while it was being read; reading it again works."""


class ModelError(SimdaskError, RuntimeError):
    """Running a model or script failed (unknown model, bad inputs, an exception inside it, no backend)."""


class ModelTimeoutError(ModelError, TimeoutError):
    """No inference service answered a run request within its timeout."""


class ExperimentError(SimdaskError):
    """Describing, launching or watching an experiment's entities failed."""


class LaunchError(ExperimentError, RuntimeError):
    """A launcher command (``sbatch``, ``qsub``, ``squeue``, a process start) failed; the message has its output."""


class JobFailedError(ExperimentError, RuntimeError):
    """An entity of an experiment failed (non-zero exit); the message has the tail of its stderr."""


class ExperimentTimeoutError(ExperimentError, TimeoutError):
    """Entities did not finish (or a store did not come up) within the timeout."""


#: Server error prefixes mapped to exception classes (the first word of the reply).
_REPLY_PREFIXES: dict[str, type[ResponseError]] = {
    "OOM": StoreFullError,
    "WRONGTYPE": WrongTypeError,
}

_AUTH_PREFIXES = ("NOAUTH", "WRONGPASS", "NOPERM")
_UNAVAILABLE_PREFIXES = ("CLUSTERDOWN", "LOADING", "MASTERDOWN", "TRYAGAIN")


def error_from_reply(message: str, context: str) -> SimdaskError:
    """Turn a server error reply into the matching exception.

    Parameters
    ----------
    message
        The reply text without its leading ``-`` (e.g. ``"OOM command not allowed ..."``).
    context
        What was being done, naming the key and the address (e.g. ``"put_tensor 'u' at 127.0.0.1:6379"``).
    """
    prefix = message.split(" ", 1)[0]
    text = f"{context}: {message}"
    if prefix in _AUTH_PREFIXES or message.startswith("ERR AUTH"):
        return AuthenticationError(text)
    if prefix in _UNAVAILABLE_PREFIXES:
        return StoreConnectionError(text)
    if prefix == "OOM":
        text += " (the store is full: raise its maxmemory or delete data; nothing was written)"
    return _REPLY_PREFIXES.get(prefix, ResponseError)(text)
