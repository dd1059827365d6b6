"""``SRObject``: what logs under a name (a Client, a Dataset, a LogContext)."""

from __future__ import annotations

from .logger import SRLoggingLevel, log_data, log_error, log_warning
from .util import typecheck

__all__ = ["SRObject"]


class SRObject:
    """An object that logs under its context name (``<context>@<time>:<text>``)."""

    def __init__(self, context: str) -> None:
        typecheck(context, "context", str)
        self._name = context

    def log_data(self, level: SRLoggingLevel, data: str) -> None:
        """Log ``data`` when ``level`` is at most the configured level (``SR_LOG_LEVEL``)."""
        typecheck(level, "level", SRLoggingLevel)
        typecheck(data, "data", str)
        log_data(self._name, level, data)

    def log_warning(self, level: SRLoggingLevel, data: str) -> None:
        """:meth:`log_data` of a warning."""
        typecheck(level, "level", SRLoggingLevel)
        typecheck(data, "data", str)
        log_warning(self._name, level, data)

    def log_error(self, level: SRLoggingLevel, data: str) -> None:
        """:meth:`log_data` of an error."""
        typecheck(level, "level", SRLoggingLevel)
        typecheck(data, "data", str)
        log_error(self._name, level, data)
