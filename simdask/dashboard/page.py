"""The bokeh page ``/simdask`` of the Dask dashboard: store, inference and runs, updated every second.

Imported only in the scheduler process, by :mod:`.plugin`, where bokeh is
installed. Every update copies the plugin's latest reading into the page's
sources: the page never reads the store itself.
"""

from __future__ import annotations

import datetime
import html
from typing import Any

from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, DataRange1d, FactorRange
from bokeh.models.widgets import DataTable, TableColumn
from bokeh.models.widgets.markups import Div
from bokeh.plotting import figure
from distributed.dashboard.components.scheduler import BOKEH_THEME, env

from .plugin import current_plugin

__all__ = ["KEYS_COLOR", "MEMORY_COLOR", "SERVED_COLOR", "UPDATE_MS", "SimdaskPage", "simdask_doc"]

#: Milliseconds between updates of an open page.
UPDATE_MS = 1000
#: Bar colours of the memory, keys and served-requests panels (solid, so a screenshot can find them).
MEMORY_COLOR = "#6a3d9a"
KEYS_COLOR = "#e6550d"
SERVED_COLOR = "#31a354"
_LINE_COLORS = ("#1f77b4", "#d62728")
_MIB = 2**20


def _bars(title: str, x_label: str, color: str, field: str) -> tuple[Any, ColumnDataSource]:
    source = ColumnDataSource({"name": [], field: []})
    fig = figure(
        title=title,
        x_range=DataRange1d(start=0),
        y_range=FactorRange(),
        height=220,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
    )
    fig.hbar(y="name", right=field, height=0.7, source=source, color=color, fill_alpha=1.0)
    fig.xaxis.axis_label = x_label
    return fig, source


def _lines(title: str, y_label: str, names: tuple[str, str], legends: tuple[str, str]) -> tuple[Any, ColumnDataSource]:
    source = ColumnDataSource({"time": [], names[0]: [], names[1]: []})
    fig = figure(
        title=title,
        x_axis_type="datetime",
        y_range=DataRange1d(start=0),
        height=220,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
    )
    for name, legend, color in zip(names, legends, _LINE_COLORS):
        fig.line(x="time", y=name, source=source, color=color, line_width=2, legend_label=legend)
    fig.yaxis.axis_label = y_label
    fig.legend.location = "top_left"
    return fig, source


def _table(columns: list[tuple[str, str]], height: int) -> tuple[DataTable, ColumnDataSource]:
    source = ColumnDataSource({field: [] for field, _ in columns})
    table = DataTable(
        source=source,
        columns=[TableColumn(field=field, title=title) for field, title in columns],
        height=height,
        sizing_mode="stretch_width",
        index_position=None,
    )
    return table, source


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


class SimdaskPage:
    """The panels of the page and how each reading fills them."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.header = Div(text="simdask: waiting for the first reading of the store", sizing_mode="stretch_width")
        self.memory, self.memory_source = _bars("Store memory per shard", "MiB", MEMORY_COLOR, "mib")
        self.keys, self.keys_source = _bars("Keys per shard", "keys", KEYS_COLOR, "keys")
        self.rates, self.rates_source = _lines(
            "Puts and gets per second (SET, GET commands)", "per second", ("put", "get"), ("put", "get")
        )
        self.bytes, self.bytes_source = _lines(
            "Data into and out of the store", "MB/s", ("into", "out"), ("into the store", "out of the store")
        )
        self.queue, self.queue_source = _lines(
            "Inference queue", "run requests", ("queued", "pending"), ("queued (not read yet)", "read, not answered")
        )
        self.served, self.served_source = _bars("Requests answered per model", "requests", SERVED_COLOR, "requests")
        self.models, self.models_source = _table(
            [
                ("model", "model"),
                ("requests", "requests"),
                ("model_runs", "model runs"),
                ("devices", "devices"),
                ("p50", "p50 ms"),
                ("p90", "p90 ms"),
                ("p99", "p99 ms"),
                ("samples", "latencies"),
            ],
            140,
        )
        self.loops, self.loops_source = _table(
            [
                ("loop", "serving loop"),
                ("state", "lease"),
                ("where", "runs on"),
                ("worker", "worker"),
                ("devices", "devices"),
                ("served", "answered OK"),
                ("errors", "answered ERR"),
                ("pending", "pending"),
                ("idle", "idle s"),
            ],
            140,
        )
        self.runs, self.runs_source = _table(
            [
                ("group", "writer group"),
                ("run", "run"),
                ("run_id", "id"),
                ("state", "state"),
                ("writers", "writers ended"),
                ("keys", "keys"),
                ("steps", "steps"),
                ("last_step", "last step"),
                ("began", "began"),
            ],
            200,
        )
        titled = [
            (Div(text="<b>Inference: models</b>"), self.models),
            (Div(text="<b>Serving loops</b>"), self.loops),
            (Div(text="<b>Runs (latest per writer group)</b>"), self.runs),
        ]
        self.root = column(
            self.header,
            row(self.memory, self.keys, sizing_mode="stretch_width"),
            row(self.rates, self.bytes, sizing_mode="stretch_width"),
            row(self.queue, self.served, sizing_mode="stretch_width"),
            *[item for pair in titled for item in pair],
            sizing_mode="stretch_width",
        )

    def update(self) -> None:
        """Show the plugin's latest reading."""
        plugin = current_plugin(self.scheduler)
        view: dict[str, Any] = plugin.view() if plugin is not None else {"error": "no simdask dashboard is installed"}
        self.header.text = _header(view)
        if "shards" not in view:
            return
        shards = view["shards"]
        names = [s["address"] for s in shards]
        self.memory.y_range.factors = names
        self.memory_source.data = {"name": names, "mib": [s["used_memory"] / _MIB for s in shards]}
        self.keys.y_range.factors = names
        self.keys_source.data = {"name": names, "keys": [s["keys"] for s in shards]}
        history = view["history"]
        times = [1000 * t for t in history["time"]]
        self.rates_source.data = {"time": times, "put": history["put_per_s"], "get": history["get_per_s"]}
        self.bytes_source.data = {
            "time": times,
            "into": [b / 1e6 for b in history["in_bytes_per_s"]],
            "out": [b / 1e6 for b in history["out_bytes_per_s"]],
        }
        self.queue_source.data = {"time": times, "queued": history["queued"], "pending": history["pending"]}
        models = view["models"]
        labels = [m["model"] for m in models]
        self.served.y_range.factors = labels
        self.served_source.data = {"name": labels, "requests": [m["requests"] for m in models]}
        latency = [m["latency"] or {} for m in models]
        self.models_source.data = {
            "model": labels,
            "requests": [_count(m["requests"]) for m in models],
            "model_runs": [_count(m["runs"]) for m in models],
            "devices": [", ".join(m["devices"]) for m in models],
            "p50": [_ms(lat.get("p50")) for lat in latency],
            "p90": [_ms(lat.get("p90")) for lat in latency],
            "p99": [_ms(lat.get("p99")) for lat in latency],
            "samples": [_count(lat.get("samples")) for lat in latency],
        }
        loops = view["loops"]
        self.loops_source.data = {
            "loop": [lp["consumer"] for lp in loops],
            "state": ["alive" if lp["alive"] else "expired" for lp in loops],
            "where": ["" if lp["gpu"] is None else "GPU" if lp["gpu"] else "CPU" for lp in loops],
            "worker": [lp["worker"] for lp in loops],
            "devices": [", ".join(lp["devices"]) for lp in loops],
            "served": [_count(lp["served"]) for lp in loops],
            "errors": [_count(lp["errors"]) for lp in loops],
            "pending": [_count(lp["pending"]) for lp in loops],
            "idle": ["" if lp["idle_s"] is None else f"{lp['idle_s']:.1f}" for lp in loops],
        }
        runs = view["runs"]
        self.runs_source.data = {
            "group": [r["group"] or "(no prefix)" for r in runs],
            "run": [str(r["number"]) for r in runs],
            "run_id": [r["run_id"] for r in runs],
            "state": [r["state"] for r in runs],
            "writers": [f"{r['ended']}/{r['writers']}" for r in runs],
            "keys": [_count(r["keys"]) for r in runs],
            "steps": [_count(r["steps"]) for r in runs],
            "last_step": ["" if r["last_step"] is None else str(r["last_step"]) for r in runs],
            "began": [datetime.datetime.fromtimestamp(r["began"]).strftime("%Y-%m-%d %H:%M:%S") for r in runs],
        }


def _header(view: dict[str, Any]) -> str:
    if "shards" not in view:
        return f"<b>simdask</b>: <span style='color:#c00'>{html.escape(view.get('error', ''))}</span>"
    shards = view["shards"]
    rates = view["rates"] or {}
    age = datetime.datetime.fromtimestamp(view["time"]).strftime("%H:%M:%S")
    parts = [
        f"<b>simdask store</b> {html.escape(view['address'])}",
        f"{'cluster of ' if view['cluster'] else ''}{len(shards)} shard{'s' if len(shards) != 1 else ''}",
        f"{sum(s['keys'] for s in shards):,} keys",
        f"{sum(s['used_memory'] for s in shards) / _MIB:,.1f} MiB",
        f"{rates.get('put_per_s', 0):,.0f} puts/s, {rates.get('get_per_s', 0):,.0f} gets/s",
        f"{sum(1 for lp in view['loops'] if lp['alive'])} serving loops",
        f"read at {age}",
    ]
    text = " &middot; ".join(parts)
    if view["error"]:
        text += f"<br><span style='color:#c00'>the latest reading failed: {html.escape(view['error'])}</span>"
    return text


def simdask_doc(scheduler: Any, extra: dict[str, Any], doc: Any) -> None:
    """Build the page for one browser session (a bokeh application function, as Dask's own pages)."""
    page = SimdaskPage(scheduler)
    page.update()
    doc.title = "Dask: simdask"
    doc.add_root(page.root)
    doc.add_periodic_callback(page.update, UPDATE_MS)
    doc.template = env.get_template("simple.html")
    doc.template_variables.update(extra)
    doc.theme = BOKEH_THEME
