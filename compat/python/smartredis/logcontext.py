"""``LogContext``: a name to log under, for code that has no Client or Dataset at hand."""

from __future__ import annotations

from .srobject import SRObject
from .util import typecheck

__all__ = ["LogContext"]


class LogContext(SRObject):
    """Logs under ``context``: ``LogContext("solver").log_data(LLInfo, "step 10 done")``."""

    def __init__(self, context: str) -> None:
        typecheck(context, "context", str)
        super().__init__(context)

    def __str__(self) -> str:
        return f"LogContext ({self._name})"
