"""Small HTML for Jupyter's rich display of simdask's objects (``_repr_html_``).

Everything shown is escaped here (names, addresses, paths and messages come
from users and stores), styles are inline (no CSS or JavaScript files), and
:func:`guarded` turns a failure into a line saying what could not be shown:
a repr never raises.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Sequence

__all__ = ["Field", "badge", "esc", "fields", "guarded", "table"]

#: One row of :func:`fields`: a label and its value (HTML already made by :func:`esc` or :func:`badge`).
Field = tuple[str, str]

_TABLE = "border-collapse:collapse;margin:2px 0;font-size:90%"
_CELL = "padding:1px 6px;text-align:left"
_COLOURS = {"ok": "#2e7d32", "off": "#616161", "bad": "#c62828", "wait": "#ef6c00"}


def esc(value: object) -> str:
    """``value`` as text, escaped for HTML (quotes included).

    >>> esc("<b> & 'x'")
    '&lt;b&gt; &amp; &#x27;x&#x27;'
    """
    return html.escape(str(value), quote=True)


def badge(text: str, tone: str) -> str:
    """``text`` in bold, coloured by ``tone``: ``"ok"`` (green), ``"off"`` (grey), ``"bad"`` (red), ``"wait"``."""
    return f'<b style="color:{_COLOURS.get(tone, _COLOURS["off"])}">{esc(text)}</b>'


def table(head: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str, caption: str = "") -> str:
    """A table of ``rows`` (cells already HTML) under the column names ``head`` (plain text)."""
    top = "".join(f'<th style="{_CELL}">{esc(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>" for row in rows)
    title = f'<caption style="text-align:left">{caption}</caption>' if caption else ""
    head_html = f"<thead><tr>{top}</tr></thead>"
    return f'<table class="{esc(cls)}" style="{_TABLE}">{title}{head_html}<tbody>{body}</tbody></table>'


def fields(title: str, items: Sequence[Field], *, cls: str, extra: str = "") -> str:
    """A titled block of ``label: value`` rows (values already HTML), then ``extra`` HTML (a table)."""
    rows = "".join(f'<tr><th style="{_CELL}">{esc(k)}</th><td style="{_CELL}">{v}</td></tr>' for k, v in items)
    return f'<div class="{esc(cls)}"><b>{esc(title)}</b><table style="{_TABLE}">{rows}</table>{extra}</div>'


def guarded(render: Callable[[], str], what: str) -> str:
    """``render()``, or a line saying why ``what`` cannot be shown: Jupyter's display must not fail."""
    try:
        return render()
    except Exception as exc:  # a repr shows what it can; the error is the thing to show
        return f"<pre>{esc(what)}: cannot be shown ({esc(type(exc).__name__)}: {esc(exc)})</pre>"
