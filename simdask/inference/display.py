"""How an :class:`~simdask.InferenceServer` shows itself: a line (``repr``) and, in Jupyter, a table of its loops.

The line reads what the Dask client knows (each loop's task state); the HTML
also asks the scheduler where each loop's task runs and the store what each
loop served (:func:`~simdask.inference.stats.loop_records`).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from .._html import badge, esc, fields, guarded, table
from .stats import loop_records

if TYPE_CHECKING:
    from .server import InferenceServer

__all__ = ["server_html", "server_line"]

_TONES = {"pending": "wait", "finished": "off", "cancelled": "off", "error": "bad", "lost": "bad"}


def _states(server: InferenceServer) -> Counter[str]:
    """How many loops' tasks are in each Dask state (``pending`` covers a running task too, as Dask says)."""
    return Counter(str(f.status) for f in server.futures)


def server_line(server: InferenceServer) -> str:
    """``<simdask.InferenceServer 'serve-1a2b' 2 loops (2 pending), store 127.0.0.1:6379>``."""
    if not server.futures:
        return f"<simdask.InferenceServer {server.name!r} not serving, store {server.client.address}>"
    states = ", ".join(f"{n} {state}" for state, n in sorted(_states(server).items()))
    loops = f"{len(server.futures)} loops ({states})"
    return f"<simdask.InferenceServer {server.name!r} {loops}, store {server.client.address}>"


def _placements(server: InferenceServer) -> dict[str, tuple[str, bool]] | None:
    """Where each loop's task is, as the scheduler says (by task key): its worker, and whether it has started
    there (a loop leaves its worker's thread pool as it starts: Dask then counts it long-running). A task not
    started yet waits for a thread or for the resource it needs (the GPU a loop that is ending still holds).
    ``None``: the scheduler did not say."""
    keys = [str(f.key) for f in server.futures]

    def placements(dask_scheduler: Any) -> dict[str, tuple[str, bool]]:
        found = {}
        for key in keys:
            ts = dask_scheduler.tasks.get(key)
            if ts is not None and ts.processing_on is not None:
                found[key] = (ts.processing_on.address, ts in ts.processing_on.long_running)
        return found

    try:
        return dict(server.dask.run_on_scheduler(placements))
    except Exception:  # a scheduler that went away or runs no functions: the loop records still say where
        return None


def _state(status: str, placement: tuple[str, bool] | None, known: bool) -> str:
    """A loop's state as shown: Dask's ``pending`` is ``running`` once the loop has started on its worker,
    ``waiting on its worker`` while the worker holds it back, ``waiting for a worker`` before one has it."""
    if status != "pending" or not known:
        return "running" if status == "pending" else status
    if placement is None:
        return "waiting for a worker"
    return "running" if placement[1] else "waiting on its worker"


def server_html(server: InferenceServer) -> str:
    """The HTML Jupyter shows: the server's name and store, then each loop: task state, where it runs (GPU or
    CPU worker), what it served (by model), errors."""

    def render() -> str:
        items = [("name", esc(server.name)), ("store", esc(server.client.address))]
        if not server.futures:
            items.append(("state", badge("not serving (start() it)", "off")))
            return fields("simdask.InferenceServer", items, cls="simdask-inference")
        try:
            records = loop_records(server.client.session, server.consumers)
            unknown = ""
        except Exception as exc:  # the store went away: show the loops Dask knows
            records, unknown = {}, f"store not reachable: {exc}"
        placements = _placements(server)
        rows = []
        for consumer, future in zip(server.consumers, server.futures):
            record = records.get(consumer)
            placement = (placements or {}).get(str(future.key))
            where = placement[0] if placement else (record.worker if record else "")
            device = ("GPU" if record.gpu else "CPU") if record else ""
            counts = sorted(record.served.items()) if record else []
            served = ", ".join(f"{label} ({dev}): {n}" for (label, dev), n in counts)
            status = str(future.status)
            rows.append(
                [
                    esc(consumer),
                    badge(_state(status, placement, placements is not None), _TONES.get(status, "ok")),
                    esc(where),
                    esc(device),
                    esc(served or unknown or ("nothing yet" if record is None else "")),
                    esc(record.errors if record else 0),
                ]
            )
        items.append(("serving loops", esc(len(server.futures))))
        head = ["loop", "state", "worker", "device", "served", "errors"]
        loops = table(head, rows, cls="simdask-inference-loops")
        return fields("simdask.InferenceServer", items, cls="simdask-inference", extra=loops)

    return guarded(render, "simdask.InferenceServer")
