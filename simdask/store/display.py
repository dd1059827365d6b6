"""How a :class:`~simdask.Store` shows itself: a line (``repr``) and, in Jupyter, a small HTML table.

The line asks the servers nothing (it reads process states only); the HTML
asks each server for its memory and key count, waiting :data:`ASK_S` at
most, and says so when the store went away. A stopped store reads
``Stopped``. Neither shows the password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dask.utils import format_bytes

from .._html import Field, badge, esc, fields, guarded, table
from ..errors import SimdaskError
from ..transport import ErrorReply
from .server import ServerProcess

if TYPE_CHECKING:
    from .store import Store

__all__ = ["ASK_S", "ServerFigures", "server_figures", "store_html", "store_line", "store_state"]

#: Seconds the HTML waits for a server's figures (a frozen store must not freeze the notebook).
ASK_S = 0.5

#: A server's used memory (bytes) and key count; ``None`` where it did not answer.
ServerFigures = tuple[int | None, int | None]


def store_state(store: Store) -> tuple[str, str]:
    """The store's state in words and its tone (:func:`simdask._html.badge`): ``Not started``, ``Running``,
    ``Stopped``, or ``Gone`` naming the server that exited."""
    if not store.servers:
        return "Not started", "off"
    if not store._started:
        return "Stopped", "off"
    dead = [s for s in store.servers if not s.is_alive()]
    if dead:
        return f"Gone: the server at {dead[0].address} exited", "bad"
    return "Running", "ok"


def server_figures(server: ServerProcess, timeout: float = ASK_S) -> ServerFigures:
    """Used memory (bytes) and keys of one server, asked with ``timeout``; ``(None, None)`` if it does not answer."""
    try:
        conn = server.connect(timeout=timeout)
        try:
            info, keys = conn.call("INFO", "memory"), conn.call("DBSIZE")
        finally:
            conn.close()
    except (SimdaskError, OSError):
        return None, None
    if isinstance(info, ErrorReply) or not isinstance(keys, int):
        return None, None
    text = info.decode(errors="replace") if isinstance(info, bytes) else str(info)
    used = next((int(line.split(":", 1)[1]) for line in text.splitlines() if line.startswith("used_memory:")), None)
    return used, keys


def _kind(store: Store) -> str:
    return {"unix": "Unix socket"}.get(store.kind, store.kind) + (
        f", {store.shards} shards" if store.kind == "cluster" else ""
    )


def _serving(store: Store) -> str:
    """The store's own serving loops in words (``""``: none)."""
    serving = store.serving
    if serving is None:
        return ""
    running = store._started and serving.is_alive()
    return f"{serving.loops} (pid {serving.pid}, {'running' if running else 'stopped'}; log {serving.log_path})"


def store_line(store: Store) -> str:
    """``<simdask.Store standalone 127.0.0.1:6379 Running, run dir /tmp/...>``: no server is asked."""
    where = store.address if store.servers else ""
    serving = f", {store.serving.loops} serving loops" if store.serving is not None else ""
    run_dir = f", run dir {store.run_dir}" if store.run_dir is not None else ""
    state, _ = store_state(store)
    return f"<simdask.Store {store.kind} {where} {state}{serving}{run_dir}>".replace("  ", " ")


def _memory(used: int | None, keys: int | None) -> str:
    return "not answering" if used is None or keys is None else f"{format_bytes(used)} in {keys} keys"


def store_html(store: Store) -> str:
    """The HTML Jupyter shows: state, kind, address, run directory, memory and keys (when running), its
    serving loops; a cluster's shards one per row."""

    def render() -> str:
        state, tone = store_state(store)
        items: list[Field] = [("state", badge(state, tone)), ("kind", esc(_kind(store)))]
        if store.servers:
            items.append(("address", esc(store.address)))
        if store.run_dir is not None:
            temporary = " (temporary)" if store._own_run_dir and not store.persist else ""
            items.append(("run directory", esc(f"{store.run_dir}{temporary}")))
        items.append(("password", esc("required (this user's clients find it)" if store.password else "none")))
        running = state == "Running"
        figures = [server_figures(s) for s in store.servers] if running else []
        if running:
            used = [u for u, _ in figures]
            keys = [k for _, k in figures]
            known = None not in used and None not in keys
            total = _memory(sum(u or 0 for u in used), sum(k or 0 for k in keys)) if known else "not answering"
            limit = f" (limit {store.maxmemory} per server)" if store.maxmemory is not None else ""
            items.append(("memory", esc(total + limit)))
        serving = _serving(store)
        if serving:
            items.append(("serving loops", esc(serving)))
        extra = ""
        if len(store.servers) > 1:
            rows = [
                [
                    esc(s.address),
                    esc(s.pid),
                    badge("running", "ok") if s.is_alive() else badge("exited", "bad" if store._started else "off"),
                    esc(_memory(*figures[i]) if running else ""),
                ]
                for i, s in enumerate(store.servers)
            ]
            extra = table(["shard", "pid", "process", "memory"], rows, cls="simdask-store-shards")
        elif store.servers:
            items.append(("server pid", esc(store.servers[0].pid)))
        return fields("simdask.Store", items, cls="simdask-store", extra=extra)

    return guarded(render, "simdask.Store")
