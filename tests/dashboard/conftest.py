"""Fixtures of the dashboard tests: a real Dask LocalCluster (in-process, its dashboard on a free port) whose
scheduler serves the simdask page, and a helper to read its HTTP routes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest


class Dashboard:
    """The scheduler's web server, seen from a test."""

    def __init__(self, cluster, dask_client) -> None:
        self.cluster = cluster
        self.dask = dask_client
        self.base = f"http://127.0.0.1:{cluster.scheduler.http_server.port}"

    def get(self, path: str) -> str:
        with urllib.request.urlopen(self.base + path, timeout=10) as reply:
            return reply.read().decode()

    def view(self) -> dict:
        return json.loads(self.get("/simdask.json"))

    def wait_view(self, ready, timeout: float = 15.0) -> dict:
        """The first ``simdask.json`` for which ``ready(view)`` is true; fails after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            view = self.view()
            if ready(view):
                return view
            if time.monotonic() > end:
                raise AssertionError(f"simdask.json did not show what was expected within {timeout:g} s: {view}")
            time.sleep(0.1)

    def metrics(self) -> dict[str, float]:
        """``/metrics`` lines of the simdask families: ``name{labels}`` -> value."""
        found = {}
        for line in self.get("/metrics").splitlines():
            if line.startswith("simdask_"):
                name, _, value = line.rpartition(" ")
                found[name] = float(value)
        return found


@pytest.fixture(scope="module")
def dashboard():
    """A LocalCluster (one in-process worker) with its dashboard on 127.0.0.1, and a client of it."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(processes=False, n_workers=1, threads_per_worker=4, dashboard_address="127.0.0.1:0") as cluster,
        Client(cluster) as dask_client,
    ):
        yield Dashboard(cluster, dask_client)


@pytest.fixture
def no_prefixes(monkeypatch):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_PASSWORD", "SIMDASK_RUN_ID"):
        monkeypatch.delenv(name, raising=False)


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code
