"""How an :class:`~simdask.Experiment` shows itself: a line (``repr``) and, in Jupyter, its summary table.

The line uses the states last seen (no launcher is asked); the HTML asks the
launcher once (:meth:`~simdask.Experiment.summary`) and adds where to reach
the running store and Dask dashboards. An entity the experiment stopped
reads ``Stopped``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._html import Field, esc, fields, guarded
from .entities import DaskCluster, StoreEntity
from .jobs import Status

if TYPE_CHECKING:
    from .experiment import Experiment

__all__ = ["experiment_html", "experiment_line"]


def experiment_line(exp: Experiment) -> str:
    """``<simdask.Experiment 'coupled' (local launcher): 3 entities, 2 running, at /path>``."""
    running = sum(not job.status.finished for job in exp._jobs.values())
    running += sum(isinstance(e, DaskCluster) and e.status == Status.RUNNING for e in exp._entities.values())
    return (
        f"<simdask.Experiment {exp.name!r} ({exp.launcher} launcher): {len(exp._entities)} entities, "
        f"{running} running, at {exp.exp_path}>"
    )


def experiment_html(exp: Experiment) -> str:
    """The summary table (one row per entity and ensemble member) under the experiment's launcher, folder, the
    store's address and the Dask dashboards' links."""

    def render() -> str:
        summary = exp.summary()
        items: list[Field] = [("launcher", esc(exp.launcher)), ("folder", esc(exp.exp_path))]
        running = {row.entity for row in summary if row.status == Status.RUNNING}
        for entity in exp._entities.values():
            if entity.name not in running:
                continue
            if isinstance(entity, StoreEntity) and not entity.colocated:
                items.append((f"store {entity.name}", esc(entity.address)))
            link = getattr(entity.cluster, "dashboard_link", None) if isinstance(entity, DaskCluster) else None
            if link:
                items.append((f"{entity.name} dashboard", f'<a href="{esc(link)}" target="_blank">{esc(link)}</a>'))
        return fields(f"simdask.Experiment {exp.name!r}", items, cls="simdask-experiment", extra=summary._repr_html_())

    return guarded(render, f"simdask.Experiment {exp.name!r}")
