"""How a :class:`~simdask.Client` shows itself: a line (``repr``) and, in Jupyter, a small HTML table.

Both say where it connects, the key prefixes it writes under and reads
from, and the run it writes in; the HTML also whether the store is a
cluster. Neither shows the password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._html import Field, esc, fields, guarded

if TYPE_CHECKING:
    from .client import Client

__all__ = ["client_html", "client_line"]


def _run(client: Client) -> str:
    """The run this client writes in, in words (``""``: none)."""
    scope = client._runs
    identity = scope.identity
    if scope.run is None:
        return f"{identity.run_id!r} (begins with the first write)" if identity is not None else ""
    text = f"{scope.run}"
    if identity is not None:
        text += f" ({identity.run_id!r}, writer {identity.writer} of {identity.writers})"
    return text + (", ended" if scope.ended else "")


def client_line(client: Client) -> str:
    """``<simdask.Client 127.0.0.1:6379 writes under 'sim' (run 3), reads 'sim'>``."""
    prefixes = client._prefixes
    parts = [f"<simdask.Client {client.address}"]
    if prefixes.put_prefix:
        parts.append(f" writes under {prefixes.put_prefix!r}")
    run = client.run
    if run is not None:
        parts.append(f" (run {run})")
    if prefixes.source and (prefixes.source != prefixes.put_prefix or prefixes.incoming):
        parts.append(f", reads {prefixes.source!r}")
    return "".join(parts) + ">"


def client_html(client: Client) -> str:
    """The HTML Jupyter shows: address, cluster or not, prefixes, data source, run."""

    def render() -> str:
        prefixes = client._prefixes
        items: list[Field] = [("address", esc(client.address))]
        try:
            items.append(("store", esc("cluster" if client.is_cluster else "single server")))
        except Exception as exc:  # the store went away: say so, show the rest
            items.append(("store", esc(f"not reachable ({exc})")))
        items.append(("writes under", esc(repr(prefixes.put_prefix) if prefixes.put_prefix else "no prefix")))
        if prefixes.incoming:
            items.append(("may read from", esc(", ".join(repr(p) for p in prefixes.incoming))))
        items.append(("reads from", esc(repr(prefixes.source) if prefixes.source else "no prefix")))
        run = _run(client)
        if run:
            items.append(("writes in run", esc(run)))
        return fields("simdask.Client", items, cls="simdask-client")

    return guarded(render, "simdask.Client")
