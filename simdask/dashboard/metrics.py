"""The dashboard's figures as Prometheus metrics, on the Dask scheduler's ``/metrics``.

Dask serves ``prometheus_client``'s default registry at ``/metrics``; one
collector of this module, registered there once per process, reports the
latest reading of every installed dashboard (never reading the store itself).
Every metric carries the label ``store`` (the store's address). Without
``prometheus_client`` nothing is registered.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from ..inference.stats import BUCKETS_MS

__all__ = ["SimdaskCollector", "unwatch", "watch"]

_WATCHED: list[Any] = []  # the installed DashboardPlugins of this process
_LOCK = threading.Lock()
_REGISTERED = False


def watch(plugin: Any) -> None:
    """Report ``plugin``'s readings (a :class:`~.plugin.DashboardPlugin`) from now on."""
    global _REGISTERED
    try:
        from prometheus_client import REGISTRY
    except ImportError:
        return
    with _LOCK:
        if plugin not in _WATCHED:
            _WATCHED.append(plugin)
        if not _REGISTERED:
            REGISTRY.register(SimdaskCollector())
            _REGISTERED = True


def unwatch(plugin: Any) -> None:
    """Stop reporting ``plugin``'s readings."""
    with _LOCK:
        if plugin in _WATCHED:
            _WATCHED.remove(plugin)


class SimdaskCollector:
    """Yields the ``simdask_*`` metric families of every watched dashboard."""

    def describe(self) -> list[Any]:
        return []  # the families depend on what the store holds: none is checked at registration

    def collect(self) -> Iterator[Any]:
        with _LOCK:
            views = [plugin.view() for plugin in _WATCHED]
        yield from families([view for view in views if "shards" in view])


def families(views: list[dict[str, Any]]) -> Iterator[Any]:
    """The metric families of dashboard views (:meth:`~.plugin.DashboardPlugin.view`)."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

    def gauge(name: str, doc: str, labels: list[str]) -> Any:
        return GaugeMetricFamily(f"simdask_{name}", doc, labels=["store", *labels])

    def counter(name: str, doc: str, labels: list[str]) -> Any:
        return CounterMetricFamily(f"simdask_{name}", doc, labels=["store", *labels])

    up = gauge("store_up", "1 when the latest reading of the store succeeded", [])
    memory = gauge("store_memory_bytes", "Memory the store's shard uses (INFO used_memory)", ["shard"])
    maxmemory = gauge("store_maxmemory_bytes", "The shard's memory limit (0: none)", ["shard"])
    keys = gauge("store_keys", "Keys the shard holds (DBSIZE)", ["shard"])
    commands = counter("store_commands", "Commands the shard ran (INFO commandstats)", ["shard", "command"])
    net_in = counter("store_net_input_bytes", "Bytes the shard received", ["shard"])
    net_out = counter("store_net_output_bytes", "Bytes the shard sent", ["shard"])
    queued = gauge("inference_queue_length", "Run requests in the stream, not yet read by a serving loop", ["stream"])
    pending = gauge("inference_pending", "Run requests a serving loop has read but not answered", ["stream"])
    requests = counter(
        "inference_requests",
        "Run requests answered (OK or ERR), per model, device and worker",
        ["model", "device", "worker"],
    )
    runs = counter("inference_model_runs", "Model executions (a batch runs once)", ["model"])
    latency = HistogramMetricFamily(
        "simdask_inference_latency_seconds",
        "Run request latency, from its entry in the stream to its answer (store clock)",
        labels=["store", "model"],
    )
    loop_alive = gauge("inference_loop_alive", "1 while the serving loop's lease is alive", ["loop", "worker", "where"])
    loop_served = counter("inference_loop_served", "Run requests the serving loop answered OK", ["loop"])
    loop_errors = counter("inference_loop_errors", "Run requests the serving loop answered ERR", ["loop"])
    run_keys = gauge("run_keys", "Keys of a run in the store", ["group", "run", "state"])
    run_step = gauge("run_last_step", "The highest number ending a run's key names", ["group", "run"])
    for view in views:
        store = view["address"]
        up.add_metric([store], 0 if view["error"] else 1)
        for shard in view["shards"]:
            memory.add_metric([store, shard["address"]], shard["used_memory"])
            maxmemory.add_metric([store, shard["address"]], shard["maxmemory"])
            keys.add_metric([store, shard["address"]], shard["keys"])
            net_in.add_metric([store, shard["address"]], shard["net_input_bytes"])
            net_out.add_metric([store, shard["address"]], shard["net_output_bytes"])
            for command, calls in sorted(shard["commands"].items()):
                commands.add_metric([store, shard["address"], command], calls)
        for stream in view["streams"]:
            queued.add_metric([store, stream["name"]], stream["length"] - stream["pending"])
            pending.add_metric([store, stream["name"]], stream["pending"])
        for served in view["served"]:
            requests.add_metric([store, served["model"], served["device"], served["worker"]], served["requests"])
        for model in view["models"]:
            runs.add_metric([store, model["model"]], model["runs"])
            if model["latency"]:
                add_histogram(latency, [store, model["model"]], model["latency"])
        for loop in view["loops"]:
            where = "" if loop["gpu"] is None else "GPU" if loop["gpu"] else "CPU"
            loop_alive.add_metric([store, loop["consumer"], loop["worker"], where], 1 if loop["alive"] else 0)
            loop_served.add_metric([store, loop["consumer"]], loop["served"])
            loop_errors.add_metric([store, loop["consumer"]], loop["errors"])
        for run in view["runs"]:
            if run["keys"] is not None:
                run_keys.add_metric([store, run["group"], str(run["number"]), run["state"]], run["keys"])
            if run["last_step"] is not None:
                run_step.add_metric([store, run["group"], str(run["number"])], run["last_step"])
    yield from (up, memory, maxmemory, keys, commands, net_in, net_out, queued, pending, requests, runs, latency)
    yield from (loop_alive, loop_served, loop_errors, run_keys, run_step)


def add_histogram(family: Any, labels: list[str], latency: dict[str, Any]) -> None:
    """Add a model's latency histogram (:class:`~simdask.inference.stats.Latency`, ms, not cumulative) in seconds."""
    buckets: list[tuple[str, float]] = []
    total = 0
    for bound in BUCKETS_MS:
        total += latency["buckets"].get(str(bound), 0)
        buckets.append((repr(bound / 1000), total))
    buckets.append(("+Inf", latency["count"]))
    family.add_metric(labels, buckets, latency["sum_ms"] / 1000)
