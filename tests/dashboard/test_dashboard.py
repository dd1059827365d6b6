"""The simdask page on the Dask dashboard: real stores, a real Dask cluster, real serving, real HTTP.

The scheduler's web server serves ``/simdask`` (the bokeh page, linked from
the navigation bar), ``/simdask.json`` and the ``simdask_*`` metrics on
``/metrics``; each figure is checked against what the test did to the store,
and a headless Chromium screenshot shows the page's panels with their data.
"""

from __future__ import annotations

import io
import re
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("bokeh", reason="the simdask dashboard page needs bokeh (pip install 'simdask[dashboard]')")
pytest.importorskip("prometheus_client", reason="the simdask metrics need prometheus_client (simdask[dashboard])")

from browser import chromium, screenshot  # noqa: E402
from conftest import http_status  # noqa: E402

import simdask  # noqa: E402
import simdask.dashboard  # noqa: E402
from simdask.protocol.requests import REQUEST_STREAM  # noqa: E402

_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def series(metrics: dict[str, float], name: str) -> list[tuple[dict[str, str], float]]:
    """The samples of metric ``name``: (labels, value) each."""
    found = []
    for key, value in metrics.items():
        metric, _, labels = key.partition("{")
        if metric == name:
            found.append((dict(_LABEL.findall(labels)), value))
    return found


def onnx_double() -> bytes:
    """An ONNX model y = 2 x on float32 rows of 4, with a dynamic batch dimension."""
    from onnx import TensorProto, helper

    io_ = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 4]) for n in ("x", "y")]
    two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
    graph = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["y"])], "double", io_[:1], io_[1:], [two])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


@pytest.fixture
def serving(standalone_store, dashboard, no_prefixes):
    """An empty standalone store shown on the dashboard, a model 'double' and an inference server on the cluster."""
    pytest.importorskip("onnxruntime", reason="serving the test model needs onnxruntime (simdask[onnx])")
    pytest.importorskip("onnx", reason="building the test model needs onnx (simdask[onnx])")
    with simdask.Client(standalone_store.address) as client:
        client.flush()
        simdask.dashboard.install(dashboard.dask, standalone_store.address, interval=0.3)
        client.set_model("double", onnx_double(), "ONNX")
        client.put_tensor("x", np.arange(8, dtype=np.float32).reshape(2, 4))
        server = simdask.InferenceServer(standalone_store.address, dashboard.dask).start()
        try:
            yield client
        finally:
            server.stop()


def test_keys_memory_and_rates_per_shard(cluster_store, dashboard, no_prefixes):
    with simdask.Client(cluster_store.address) as client:
        client.flush()
        url = simdask.dashboard.install(dashboard.dask, cluster_store.address, interval=0.3)
        assert url.endswith("/simdask")
        names = [f"field.{i}" for i in range(40)]
        for name in names:
            client.put_tensor(name, np.arange(100.0))
        expected = Counter(str(client.session.transport.node_for(name)) for name in names)
        assert len(expected) == 3  # the keys spread over the three shards

        def per_shard(view):
            return {shard["address"]: shard["keys"] for shard in view["shards"]}

        view = dashboard.wait_view(lambda v: per_shard(v) == expected and max(v["history"]["put_per_s"], default=0))
        assert view["cluster"] and not view["error"]
        assert max(view["history"]["get_per_s"]) == 0  # the dashboard itself never GETs
        assert all(shard["used_memory"] > 0 for shard in view["shards"])
        for name in names:
            client.get_tensor(name)
        dashboard.wait_view(lambda v: max(v["history"]["get_per_s"]) > 0)

        metrics = dashboard.metrics()
        assert {labels["shard"]: value for labels, value in series(metrics, "simdask_store_keys")} == expected
        assert series(metrics, "simdask_store_up") == [({"store": client.address}, 1.0)]
        gets = series(metrics, "simdask_store_commands_total")
        assert sum(value for labels, value in gets if labels["command"] == "get") >= len(names)
        assert all(value > 0 for _, value in series(metrics, "simdask_store_memory_bytes"))

    page = dashboard.get("/simdask")
    assert "bokeh.min.js" in page and "data-root-id=" in page  # a bokeh server document, with Dask's navigation
    assert 'href="simdask"' in page
    assert 'href="simdask"' in dashboard.get("/status")  # linked from the navigation bar of Dask's own pages


def test_runs_and_their_steps(cluster_store, dashboard, no_prefixes, monkeypatch):
    with simdask.Client(cluster_store.address) as client:
        client.flush()
    simdask.dashboard.install(dashboard.dask, cluster_store.address, interval=0.3)
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    with simdask.Client(cluster_store.address) as writer:
        writer.begin_run("case-7")
        for step in range(6):
            writer.put_tensor(f"temperature.step{step}", np.full((4, 4), step, dtype=np.float32))

        def run_of(view):
            return next((r for r in view["runs"] if r["group"] == "sim"), None)

        run = run_of(dashboard.wait_view(lambda v: (run_of(v) or {}).get("keys") == 6))
        assert (run["number"], run["run_id"], run["state"]) == (1, "case-7", "running")
        assert (run["steps"], run["last_step"], run["writers"], run["ended"]) == (6, 5, 1, 0)
        writer.end_run()
    run = run_of(dashboard.wait_view(lambda v: (run_of(v) or {}).get("state") == "ended"))
    assert run["ended"] == 1
    metrics = dashboard.metrics()
    assert series(metrics, "simdask_run_keys") == [
        ({"store": cluster_store.address, "group": "sim", "run": "1", "state": "ended"}, 6.0)
    ]
    assert [v for _, v in series(metrics, "simdask_run_last_step")] == [5.0]


def test_inference_counts_latencies_loops_and_queue(serving, dashboard):
    client = serving
    for _ in range(3):
        client.run_model("double", "x", "y")
    np.testing.assert_array_equal(client.get_tensor("y"), 2 * client.get_tensor("x"))

    def model_of(view):
        return next((m for m in view["models"] if m["model"] == "model:double"), None)

    view = dashboard.wait_view(lambda v: (model_of(v) or {}).get("requests") == 3)
    model = model_of(view)
    assert (model["runs"], model["devices"]) == (3, ["cpu"])
    latency = model["latency"]
    assert latency is not None, "the serving loops recorded no latency (simdask.inference.stats.answer_records)"
    assert latency["samples"] == latency["count"] == 3
    assert 0 <= latency["p50"] <= latency["p90"] <= latency["p99"] < 60_000
    (worker,) = dashboard.dask.scheduler_info()["workers"]
    (loop,) = view["loops"]
    assert loop["alive"] and loop["served"] == 3 and loop["errors"] == 0
    assert (loop["worker"], loop["gpu"], loop["devices"]) == (worker, False, ["cpu"])

    metrics = dashboard.metrics()
    store = client.address
    assert series(metrics, "simdask_inference_requests_total") == [
        ({"store": store, "model": "model:double", "device": "cpu", "worker": worker}, 3.0)
    ]
    latency_count = series(metrics, "simdask_inference_latency_seconds_count")
    assert latency_count == [({"store": store, "model": "model:double"}, 3.0)]
    assert series(metrics, "simdask_inference_loop_alive") == [
        ({"store": store, "loop": loop["consumer"], "worker": worker, "where": "CPU"}, 1.0)
    ]

    for _ in range(2):
        client.run_model("double", "x", "y")
    dashboard.wait_view(lambda v: (model_of(v) or {}).get("requests") == 5)
    after = dashboard.metrics()
    assert [v for _, v in series(after, "simdask_inference_requests_total")] == [5.0]
    assert [v for _, v in series(after, "simdask_inference_latency_seconds_count")] == [5.0]
    assert [v for _, v in series(after, "simdask_inference_loop_served_total")] == [5.0]


def test_queue_depth(standalone_store, dashboard, no_prefixes):
    """Requests no serving loop has read yet (a caller's plain XADD, docs/protocol.md "Run requests")."""
    with simdask.Client(standalone_store.address) as client:
        client.flush()
        simdask.dashboard.install(dashboard.dask, standalone_store.address, interval=0.3)
        request = ["model", "m", "inputs", '["x"]', "outputs", '["y"]', "reply", "simdask:reply:{simdask:requests}:t"]
        for _ in range(3):
            client.session.transport.execute(REQUEST_STREAM, "XADD", REQUEST_STREAM, "*", *request)
        view = dashboard.wait_view(lambda v: v["streams"][0]["length"] == 3)
        assert view["streams"][0] == {"name": REQUEST_STREAM, "length": 3, "pending": 0}
        assert view["history"]["queued"][-1] == 3 and view["loops"] == []
        metrics = dashboard.metrics()
        queued = {labels["stream"]: value for labels, value in series(metrics, "simdask_inference_queue_length")}
        assert queued[REQUEST_STREAM] == 3
        client.flush()


def test_screenshot_shows_the_panels_with_data(serving, dashboard, monkeypatch):
    """A real browser renders the page: the memory, keys and requests-per-model bars are drawn with data."""
    if chromium() is None:
        pytest.skip("no Chromium to take the screenshot with (Debian: apt-get install chromium)")
    from PIL import Image

    from simdask.dashboard.page import KEYS_COLOR, MEMORY_COLOR, SERVED_COLOR

    client = serving
    for _ in range(4):
        client.run_model("double", "x", "y")
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    with simdask.Client(client.address) as writer:
        writer.begin_run("case-1")
        for step in range(5):
            writer.put_tensor(f"u.step{step}", np.zeros((64, 64)))
    dashboard.wait_view(lambda v: [m["requests"] for m in v["models"]] == [4] and [r["keys"] for r in v["runs"]] == [5])
    png = screenshot(
        f"{dashboard.base}/simdask",
        # the bokeh document arrived (over its websocket) and its views are drawn
        "!!(window.Bokeh && Bokeh.documents.length && Bokeh.documents[0].roots().length)",
    )
    image = Image.open(io.BytesIO(png)).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3)
    assert pixels.std() > 20, "the screenshot is blank"

    def drawn(color: str) -> int:
        rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
        return int((pixels == rgb).all(axis=1).sum())

    for panel, color in (("memory", MEMORY_COLOR), ("keys", KEYS_COLOR), ("requests per model", SERVED_COLOR)):
        assert drawn(color) > 2000, f"the {panel} panel shows no bar in the screenshot"


def test_page_json_and_metrics_without_a_dashboard(dashboard):
    """Uninstalled: the page says so, simdask.json answers 404, /metrics has no simdask figures."""
    simdask.dashboard.uninstall(dashboard.dask)
    assert http_status(f"{dashboard.base}/simdask.json") == 404
    assert not [name for name in dashboard.metrics() if name.startswith("simdask_store_up")]
    assert http_status(f"{dashboard.base}/simdask") == 200
