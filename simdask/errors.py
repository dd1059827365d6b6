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
    "ProtocolError",
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
    "RequestFormatError",
    "ServiceStateError",
    "WatchTimeoutError",
    "RunFailedError",
    "RunNotFoundError",
    "ExperimentError",
    "EntityStateError",
    "LaunchError",
    "JobFailedError",
    "ExperimentTimeoutError",
    "REPLY_ERRORS",
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

    #: Whether bytes of the failed request may have reached the server: ``False`` when the connection
    #: failed before anything was sent (sending it again is safe), ``None`` when not known.
    request_sent: bool | None = None


class ProtocolError(StoreConnectionError):
    """The byte stream from the server made no sense; the connection is dropped."""


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


class RequestFormatError(SimdaskError, ValueError):
    """A stream entry is not a valid run request (answered with ``ERR`` when it names a reply key)."""

    def __init__(self, message: str, reply: str | None = None) -> None:
        super().__init__(message)
        self.reply = reply


class ServiceStateError(SimdaskError, RuntimeError):
    """An inference service was used in a state that does not allow it (not started, already stopped)."""


class WatchTimeoutError(SimdaskError, TimeoutError):
    """No new step of a watched run became complete within the watch's timeout."""


class RunFailedError(SimdaskError, RuntimeError):
    """A run cannot go on as asked: a writer died without ending it, or it is still running."""


class RunNotFoundError(SimdaskError, LookupError):
    """The writer group has no such run (or no runs at all)."""


class ExperimentError(SimdaskError):
    """Describing, launching or watching an experiment's entities failed."""


class EntityStateError(ExperimentError, ValueError):
    """An experiment or entity was asked for something its state does not allow (already running, not started)."""


class LaunchError(ExperimentError, RuntimeError):
    """A launcher command (``sbatch``, ``qsub``, ``squeue``, a process start) failed; the message has its output."""


class JobFailedError(ExperimentError, RuntimeError):
    """An entity of an experiment failed (non-zero exit); the message has the tail of its stderr."""


class ExperimentTimeoutError(ExperimentError, TimeoutError):
    """Entities did not finish (or a store did not come up) within the timeout."""


#: The one table from server error replies to exceptions, in the order they are tried: a reply
#: matches an entry when it equals the prefix or starts with the prefix and a space. Anything
#: else is a plain :class:`ResponseError`. ``docs/protocol.md`` ("Errors") has the same table
#: with the C and Fortran codes, and ``tests/test_error_parity.py`` checks that they agree.
REPLY_ERRORS: tuple[tuple[str, type[SimdaskError]], ...] = (
    ("OOM", StoreFullError),
    ("WRONGTYPE", WrongTypeError),
    ("NOAUTH", AuthenticationError),
    ("WRONGPASS", AuthenticationError),
    ("NOPERM", AuthenticationError),
    ("ERR AUTH", AuthenticationError),
    ("CLUSTERDOWN", StoreConnectionError),
    ("LOADING", StoreConnectionError),
    ("MASTERDOWN", StoreConnectionError),
    ("TRYAGAIN", StoreConnectionError),
)

#: What to do about a reply, by its prefix in :data:`REPLY_ERRORS` (variable names spelled as in ``simdask/env.py``).
_HINTS: dict[str, str] = {
    "OOM": " (the store is full: raise its maxmemory or delete data; nothing was written)",
    "NOAUTH": (
        " (the store needs a password and this client sent none: pass password=..., set SIMDASK_PASSWORD, or "
        "connect as the user who started the store, whose credentials file for this address is then found in "
        "SIMDASK_CREDENTIALS_DIR, else ~/.simdask/credentials)"
    ),
}


def error_from_reply(message: str, context: str) -> SimdaskError:
    """Turn a server error reply into the matching exception (:data:`REPLY_ERRORS`).

    Parameters
    ----------
    message
        The reply text without its leading ``-`` (e.g. ``"OOM command not allowed ..."``).
    context
        What was being done, naming the key and the address (e.g. ``"put_tensor 'u' at 127.0.0.1:6379"``).

    Examples
    --------
    >>> error_from_reply("WRONGTYPE Operation against a key holding the wrong kind of value", "get_tensor 'u'")
    WrongTypeError("get_tensor 'u': WRONGTYPE Operation against a key holding the wrong kind of value")
    """
    cls: type[SimdaskError] = ResponseError
    hint = ""
    for prefix, candidate in REPLY_ERRORS:
        if message == prefix or message.startswith(prefix + " "):
            cls, hint = candidate, _HINTS.get(prefix, "")
            break
    return cls(f"{context}: {message}{hint}")
