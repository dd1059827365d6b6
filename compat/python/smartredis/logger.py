"""SmartRedis's logging: ``log_data``/``log_warning``/``log_error`` and the levels ``LLQuiet``..``LLDeveloper``.

Where and how much is logged comes from the environment, read at the first
log line (or the first ``Client``): ``SR_LOG_FILE`` (a file appended to; unset:
standard output) and ``SR_LOG_LEVEL`` (``QUIET``, ``INFO`` (default), ``DEBUG``,
``DEVELOPER``, any case). A line is written when its level is at most the
configured one, as ``<context>@<HH-MM-SS>:<text>`` (warnings and errors with
``WARNING: ``/``ERROR: `` in front of the text).
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time

from .error import RedisRuntimeError
from .util import exception_handler, typecheck

__all__ = [
    "SRLoggingLevel",
    "LLQuiet",
    "LLInfo",
    "LLDebug",
    "LLDeveloper",
    "log_data",
    "log_warning",
    "log_error",
    "LOG_FILE",
    "LOG_LEVEL",
]

#: The file log lines are appended to (unset or empty: standard output).
LOG_FILE = "SR_LOG_FILE"
#: How much is logged: QUIET, INFO (default), DEBUG or DEVELOPER.
LOG_LEVEL = "SR_LOG_LEVEL"


class SRLoggingLevel(enum.IntEnum):
    """How much a log line needs the configured level to be, SmartRedis's values."""

    LLQuiet = 1
    LLInfo = 2
    LLDebug = 3
    LLDeveloper = 4


LLQuiet = SRLoggingLevel.LLQuiet
LLInfo = SRLoggingLevel.LLInfo
LLDebug = SRLoggingLevel.LLDebug
LLDeveloper = SRLoggingLevel.LLDeveloper


class _Log:
    """The process's log target and level, read from the environment once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configured = False
        self.file = ""
        self.level = LLInfo

    def configure(self) -> None:
        """Read ``SR_LOG_FILE`` and ``SR_LOG_LEVEL``; a :class:`RedisRuntimeError` for a bad one (then: defaults)."""
        with self.lock:
            if self.configured:
                return
            self.configured = True
            requested = os.environ.get(LOG_FILE, "")
            level = os.environ.get(LOG_LEVEL, "").strip()
            self.level = {"": LLInfo, **{m.name[2:].lower(): m for m in SRLoggingLevel}}.get(level.lower(), LLInfo)
            if requested:
                try:
                    with open(requested, "a"):
                        self.file = requested
                except OSError as exc:
                    raise RedisRuntimeError(f"Cannot write to file: {requested} ({exc.strerror})") from None
        if level and level.lower() not in ("quiet", "info", "debug", "developer"):
            raise RedisRuntimeError(f"Unrecognized logging level: {level} (QUIET, INFO, DEBUG or DEVELOPER)")

    def write(self, context: str, level: SRLoggingLevel, text: str) -> None:
        if not self.configured:
            self.configure()
        if level > self.level:
            return
        line = f"{context}@{time.strftime('%H-%M-%S')}:{text}\n"
        with self.lock:
            if self.file:
                try:
                    with open(self.file, "a") as target:
                        target.write(line)
                    return
                except OSError:
                    self.file = ""  # no longer writable: log to the console from now on
            sys.stdout.write(line)
            sys.stdout.flush()


_LOG = _Log()


def configure_logging() -> None:
    """Read the logging variables now (a ``Client`` does when it is made)."""
    _LOG.configure()


def _log(context: str, level: SRLoggingLevel, data: str, tag: str) -> None:
    typecheck(context, "context", str)
    typecheck(level, "level", SRLoggingLevel)
    typecheck(data, "data", str)
    _LOG.write(context, level, tag + data)


@exception_handler
def log_data(context: str, level: SRLoggingLevel, data: str) -> None:
    """Log ``data`` under ``context`` when ``level`` is at most the configured level."""
    _log(context, level, data, "")


@exception_handler
def log_warning(context: str, level: SRLoggingLevel, data: str) -> None:
    """:func:`log_data` of a warning (``WARNING: `` in front)."""
    _log(context, level, data, "WARNING: ")


@exception_handler
def log_error(context: str, level: SRLoggingLevel, data: str) -> None:
    """:func:`log_data` of an error (``ERROR: `` in front)."""
    _log(context, level, data, "ERROR: ")
