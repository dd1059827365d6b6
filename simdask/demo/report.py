"""What the demo leaves behind: PNG plots (matplotlib, Agg), an HTML report linking them, the summary lines."""

from __future__ import annotations

import html
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .analysis import Trace

__all__ = ["Results", "summary_lines", "write_html", "write_plots", "write_tables"]


@dataclass
class Results:
    """Everything the demo measured, for the plots, the report and the summary."""

    grid: tuple[int, int]
    steps: int
    substeps: int
    ranks: dict[str, int]  # language -> ranks (1 for the Python stand-in)
    programs: dict[str, str]  # language -> what ran
    backend: str | None
    backend_note: str
    traces: dict[str, Trace]
    archives: dict[str, Path]  # language -> zarr archive
    latency_ms: dict[str, np.ndarray] = field(default_factory=dict)  # run_model calls as each simulation timed them
    io_bytes: dict[str, tuple[float, float]] = field(default_factory=dict)  # (to the store, from the store)
    seconds: dict[str, float] = field(default_factory=dict)  # each run, first write to last end
    service: dict[str, tuple[float | None, float | None, int]] = field(default_factory=dict)  # model: p50, p99, n
    placements: list[str] = field(default_factory=list)  # where the models ran, one line each
    training: dict[str, Any] = field(default_factory=dict)  # the trainer's result
    curve: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # T, exact R, the served model's R
    dashboard: str = ""
    kept_up: bool = False  # everything stays up after the summary (--keep-up)
    logs: dict[str, Path] = field(default_factory=dict)  # language -> the simulation's stdout/stderr folder
    wall_s: float = 0.0
    build_s: float = 0.0


def _first_use(trace: Trace) -> int | None:
    used = [s for s, flag in zip(trace.steps, trace.surrogate) if flag]
    return used[0] if used else None


def summary_lines(r: Results) -> list[str]:
    """The summary the demo prints and the report repeats."""
    langs = list(r.traces)
    lines = [
        "simulations  "
        + "; ".join(f"{lang}: {r.programs[lang]}, {r.ranks[lang]} rank{'s' * (r.ranks[lang] > 1)}" for lang in langs),
        f"steps        {r.steps} per simulation on a {r.grid[0]} x {r.grid[1]} grid ({r.substeps} sub-steps each)",
    ]
    data = []
    rates = []
    for lang in langs:
        put, got = r.io_bytes.get(lang, (0.0, 0.0))
        data.append(f"{lang}: {put / 1e6:.2f} MB to the store, {got / 1e6:.2f} MB back")
        seconds = r.seconds.get(lang)
        if seconds:
            rates.append(f"{lang}: {r.steps / seconds:.1f} steps/s, {(put + got) / 1e6 / seconds:.2f} MB/s")
    lines.append("data         " + "; ".join(data))
    if rates:
        lines.append("throughput   " + "; ".join(rates))
    if r.backend is None:
        lines.append(f"inference    none: {r.backend_note}")
    else:
        seen = [f"{lang} {_percentiles(r.latency_ms[lang])}" for lang in langs if lang in r.latency_ms]
        lines.append("inference    run_model as the simulations timed it: " + "; ".join(seen))
        for label, (p50, p99, count) in r.service.items():
            if p50 is not None and p99 is not None:
                lines.append(
                    f"             in the service ({label}, queue to answer): p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                    f"{count} answers"
                )
        lines += [f"models       {r.placements[0]}", *[f"             {p}" for p in r.placements[1:]]]
        uses = [
            f"{lang} from step {_first_use(t)} ({int(np.count_nonzero(t.surrogate))} of {len(t.steps)} steps)"
            for lang, t in r.traces.items()
            if _first_use(t) is not None
        ]
        lines.append("surrogate    " + ("in use: " + ", ".join(uses) if uses else "never good enough to use"))
    steer = []
    for lang, t in r.traces.items():
        if t.steps:
            steer.append(
                f"{lang}: heating {t.heating_used[0]:.0f} -> {t.heating_used[-1]:.0f}, mean T {t.mean[-1]:.3f} "
                f"at the end (target {t.target[-1]:.2f})"
            )
    lines.append("steering     " + "; ".join(steer))
    if r.dashboard:
        lines.append(f"dashboard    {r.dashboard}{'' if r.kept_up else ' (up while the demo ran; --keep-up keeps it)'}")
    lines.append(f"wall time    {r.wall_s:.1f} s (building {r.build_s:.1f} s)")
    return lines


def _percentiles(ms: np.ndarray) -> str:
    if ms.size == 0:
        return "no calls"
    p50, p99 = np.percentile(ms, [50, 99])
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({ms.size} calls)"


def write_plots(r: Results, out: Path) -> list[Path]:
    """The PNG plots (none without matplotlib); their paths."""
    if importlib.util.find_spec("matplotlib") is None:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = [_fields(r, out / "fields.png", plt), _diagnostics(r, out / "diagnostics.png", plt)]
    if r.latency_ms:
        written.append(_latency(r, out / "latency.png", plt))
    if r.curve is not None:
        written.append(_curve(r, out / "surrogate.png", plt))
    plt.close("all")
    return written


def _fields(r: Results, path: Path, plt: Any) -> Path:
    """The temperature field at four steps, one row per simulation, read back from the zarr archives."""
    langs = list(r.archives)
    fig, axes = plt.subplots(len(langs), 4, figsize=(13, 3.2 * len(langs)), squeeze=False, constrained_layout=True)
    fields = {lang: xr.open_zarr(r.archives[lang]).T for lang in langs}
    top = max(float(f.max()) for f in fields.values()) or 1.0
    image = None
    for row, lang in enumerate(langs):
        field_ = fields[lang]
        last = field_.sizes["step"] - 1
        picks = np.unique(np.linspace(last / 4, last, 4).round().astype(int))
        for col, ax in enumerate(axes[row]):
            if col >= len(picks):
                ax.axis("off")
                continue
            snap = field_.isel(step=int(picks[col]))
            image = ax.imshow(
                snap.values, origin="lower", extent=(0, 1, 0, 1), vmin=0, vmax=top, cmap="inferno", aspect="equal"
            )
            ax.set_title(f"{lang}: step {int(snap.step)}, t = {float(snap.time):.3f}", fontsize=10)
            ax.set_xlabel("x")
            ax.set_ylabel("y" if col == 0 else "")
    fig.colorbar(image, ax=axes, shrink=0.8, label="temperature")
    fig.suptitle("The heated plate, as the analysis archived it (zarr)")
    fig.savefig(path, dpi=90)
    return path


def _diagnostics(r: Results, path: Path, plt: Any) -> Path:
    """Mean temperature against its target, the heating (used and sent), the model's error, over the steps."""
    fig, (mean_ax, heat_ax, err_ax) = plt.subplots(3, 1, figsize=(9, 9), sharex=True, constrained_layout=True)
    for lang, t in r.traces.items():
        if not t.steps:
            continue
        (line,) = mean_ax.plot(t.steps, t.mean, label=f"{lang}: mean T")
        mean_ax.plot(t.steps, t.peak, color=line.get_color(), alpha=0.35, label=f"{lang}: peak T")
        live = np.array(t.live)  # step, mean, peak, heating sent, surrogate flag sent
        mean_ax.plot(live[:, 0], live[:, 1], "o", ms=3, color=line.get_color(), alpha=0.5, label=f"{lang}: seen live")
        heat_ax.plot(t.steps, t.heating_used, color=line.get_color(), label=f"{lang}: heating the simulation used")
        heat_ax.plot(live[:, 0], live[:, 3], "o", ms=3, color=line.get_color(), alpha=0.5, label=f"{lang}: sent")
        if r.backend is None:
            continue
        err_ax.semilogy(t.steps, np.maximum(t.model_error, 1e-9), color=line.get_color(), label=f"{lang}")
        used = np.asarray(t.surrogate) > 0
        edges = np.flatnonzero(np.diff(np.concatenate(([0], used.astype(int), [0]))))
        for first, end in zip(edges[::2], edges[1::2]):  # each stretch of steps that used the surrogate
            err_ax.axvspan(t.steps[first], t.steps[end - 1], color=line.get_color(), alpha=0.08)
    first = next((t for t in r.traces.values() if t.steps), None)
    if first is not None:
        mean_ax.plot(first.steps, first.target, "k--", label="target (the analysis)")
    mean_ax.set_ylabel("temperature")
    mean_ax.set_title("Temperature (dots: computed live on the Dask cluster, lines: from the archive)")
    mean_ax.legend(fontsize=8, ncol=2)
    heat_ax.set_ylabel("heating S (steered)")
    heat_ax.set_title("The heating the analysis sent, and the one each step used", fontsize=10)
    heat_ax.legend(fontsize=8, ncol=2)
    err_ax.set_ylabel("max |model - exact| cooling")
    err_ax.set_xlabel("step")
    if r.backend is None:
        err_ax.set_title(f"No surrogate: {r.backend_note}", fontsize=8, wrap=True)
    else:
        err_ax.set_title("The surrogate's error (shaded: the simulation uses its answers)", fontsize=10)
        err_ax.legend(fontsize=8)
    fig.savefig(path, dpi=90)
    return path


def _latency(r: Results, path: Path, plt: Any) -> Path:
    """The distribution of run_model latencies as each simulation timed them, with p50 and p99."""
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    every = np.concatenate([ms for ms in r.latency_ms.values() if ms.size])
    bins = np.geomspace(max(float(every.min()), 0.05), max(float(every.max()), 0.1) * 1.05, 40)
    for lang, ms in r.latency_ms.items():
        if not ms.size:
            continue
        _, _, patches = ax.hist(ms, bins=bins, alpha=0.55, label=f"{lang} ({ms.size} calls)")
        for q, style in ((50, "-"), (99, ":")):
            value = float(np.percentile(ms, q))
            ax.axvline(value, color=patches[0].get_facecolor(), linestyle=style, alpha=0.9)
            ax.text(value, ax.get_ylim()[1] * 0.95, f" p{q} {value:.1f}", fontsize=8, rotation=90, va="top")
    ax.set_xscale("log")
    ax.set_xlabel("run_model round trip (ms)")
    ax.set_ylabel("calls")
    ax.set_title("Inference latency seen by the simulations (put input, run on a Dask worker, answer)")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=90)
    return path


def _curve(r: Results, path: Path, plt: Any) -> Path:
    """The cooling law the served model learned, asked through run_model, against the exact one."""
    assert r.curve is not None
    t, exact, model = r.curve
    fig, ax = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    ax.plot(t, exact, "k-", label="exact: EPS T^4")
    ax.plot(t, model, "--", label=f"served model ({r.backend}), asked with run_model")
    ax.set_xlabel("temperature")
    ax.set_ylabel("cooling R(T)")
    ax.set_title("What the surrogate learned online")
    ax.legend()
    fig.savefig(path, dpi=90)
    return path


def write_tables(r: Results, out: Path) -> list[Path]:
    """``steps.csv`` (each step as the simulation recorded it, with the diagnostics) and ``steering.csv`` (what
    the analysis computed and sent back after each batch of steps); their paths."""
    steps = out / "steps.csv"
    with steps.open("w") as f:
        f.write("simulation,step,mean,peak,target,heating_used,surrogate,model_error\n")
        for lang, t in r.traces.items():
            for row in zip(t.steps, t.mean, t.peak, t.target, t.heating_used, t.surrogate, t.model_error):
                f.write(f"{lang},{row[0]}," + ",".join(f"{v:.6g}" for v in row[1:]) + "\n")
    steering = out / "steering.csv"
    with steering.open("w") as f:
        f.write("simulation,after_step,mean,peak,heating_sent,use_surrogate\n")
        for lang, t in r.traces.items():
            for step, mean, peak, heating, use in t.live:
                f.write(f"{lang},{step},{mean:.6g},{peak:.6g},{heating:.6g},{use:g}\n")
    return [steps, steering]


def write_html(r: Results, out: Path, images: list[Path], tables: list[Path], summary: list[str]) -> Path:
    """``report.html`` in ``out``: the summary, the plots and links to the archives, tables and logs."""
    captions = {
        "fields.png": "The temperature field at four steps of each simulation (read back from the zarr archives).",
        "diagnostics.png": "Mean and peak temperature against the analysis's target, the heating it sent and the "
        "heating the simulation used, and the surrogate's error.",
        "latency.png": "Latency of run_model as the simulations timed it.",
        "surrogate.png": "The cooling law the surrogate learned, asked through run_model.",
    }
    figures = "\n".join(
        f'<figure><img src="{html.escape(p.name)}" alt="{html.escape(p.stem)}">'
        f"<figcaption>{html.escape(captions.get(p.name, p.name))}</figcaption></figure>"
        for p in images
    )
    archives = "".join(
        f'<li>{html.escape(lang)}: <a href="{html.escape(path.name)}">{html.escape(path.name)}</a> '
        f"(<code>xarray.open_zarr('{html.escape(str(path))}')</code>)</li>"
        for lang, path in r.archives.items()
    )
    archives += "".join(f'<li><a href="{html.escape(p.name)}">{html.escape(p.name)}</a></li>' for p in tables)
    logs = "".join(
        f'<li>{html.escape(lang)}: <a href="{html.escape(str(path.relative_to(out)))}">'
        f"{html.escape(str(path.relative_to(out)))}</a></li>"
        for lang, path in r.logs.items()
        if path.is_relative_to(out)
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>simdask demo</title>
<style>body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; }}
pre {{ background: #f4f4f4; padding: 1em; overflow-x: auto; }} img {{ max-width: 100%; }}
figure {{ margin: 2em 0; }} figcaption {{ color: #555; }}</style></head>
<body>
<h1>simdask demo: a heated plate, steered live</h1>
<p>An <code>Experiment</code> launched the store, a Dask cluster and the simulations (MPI ranks). Every step each
simulation asked the inference service for its cooling term (<code>run_model</code>), a model learned online on a
Dask worker; the analysis watched the runs as xarray, computed diagnostics on the cluster and steered the heating.
Surrogate: {html.escape(r.backend_note)}.</p>
<h2>Summary</h2>
<pre>{html.escape(chr(10).join(summary))}</pre>
{figures}
<h2>Data</h2>
<ul>{archives}</ul>
<h2>Simulation logs</h2>
<ul>{logs}</ul>
</body></html>
"""
    path = out / "report.html"
    path.write_text(page)
    return path
