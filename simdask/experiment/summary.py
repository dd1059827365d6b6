"""``Experiment.summary()``: one row per launched thing, as text and as an HTML table for Jupyter."""

from __future__ import annotations

import html
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from .jobs import Status

__all__ = ["Summary", "SummaryRow"]

_COLUMNS = ("entity", "kind", "job id", "status", "return code", "started", "ended")


@dataclass(frozen=True)
class SummaryRow:
    """One entity (or ensemble member) of an experiment."""

    entity: str
    kind: str
    job_id: str
    status: Status
    returncode: int | None
    started: datetime | None
    ended: datetime | None
    error: str = ""
    stopped: bool = False  # cancelled because the experiment stopped it (its status says Cancelled)

    def cells(self) -> tuple[str, ...]:
        """The row as text: an entity the experiment stopped reads ``Stopped`` (no return code); a process killed
        by a signal shows the signal's name."""

        def when(t: datetime | None) -> str:
            return t.strftime("%H:%M:%S") if t else ""

        status = "Stopped" if self.stopped else str(self.status)
        code = "" if self.returncode is None or self.stopped else _code(self.returncode)
        return (self.entity, self.kind, self.job_id, status, code, when(self.started), when(self.ended))


def _code(returncode: int) -> str:
    """A return code as text: a negative one (killed by a signal) by the signal's name.

    >>> _code(3), _code(-9)
    ('3', 'SIGKILL')
    """
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            pass
    return str(returncode)


class Summary(Sequence[SummaryRow]):
    """The rows (``summary[i].status``, ...); ``str()`` is a text table, Jupyter shows an HTML one."""

    def __init__(self, title: str, rows: Sequence[SummaryRow]) -> None:
        self.title = title
        self.rows = list(rows)

    def __getitem__(self, index: int) -> SummaryRow:  # type: ignore[override]
        return self.rows[index]

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[SummaryRow]:
        return iter(self.rows)

    def row(self, entity: str) -> SummaryRow:
        """The row of an entity by name."""
        for row in self.rows:
            if row.entity == entity:
                return row
        raise KeyError(entity)

    def __str__(self) -> str:
        table = [_COLUMNS, *(row.cells() for row in self.rows)]
        widths = [max(len(r[i]) for r in table) for i in range(len(_COLUMNS))]
        lines = [self.title] + ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
        lines.insert(2, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in _COLUMNS)
        body = "".join(
            f'<tr title="{html.escape(row.error)}">{"".join(f"<td>{html.escape(c)}</td>" for c in row.cells())}</tr>'
            for row in self.rows
        )
        caption = f"<caption>{html.escape(self.title)}</caption>"
        return f'<table class="simdask-summary">{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        return str(self)
