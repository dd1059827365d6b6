"""A simdask page on the Dask dashboard, and the same figures as Prometheus metrics.

>>> import simdask.dashboard                                          # doctest: +SKIP
>>> simdask.dashboard.install(dask_client, store.address)             # doctest: +SKIP
'http://127.0.0.1:8787/simdask'

:func:`install` registers a scheduler plugin that reads the store every few
seconds (:class:`Monitor`) and serves, from the scheduler's own web server,
the page ``/simdask`` (linked from the dashboard's navigation bar; needs
bokeh), ``/simdask.json`` and ``simdask_*`` metrics on ``/metrics`` (needs
``prometheus_client``): store memory and keys per shard, put/get rates, the
inference queue, requests and latency percentiles per model, the serving
loops and where they run, and the runs of every writer group with their
steps. ``pip install 'simdask[dashboard]'`` installs what the page needs;
``docs/dashboard.md`` tells more.
"""

from __future__ import annotations

from .monitor import Monitor
from .plugin import PLUGIN_NAME, DashboardPlugin, install, uninstall
from .snapshot import Snapshot, take_snapshot

__all__ = ["PLUGIN_NAME", "DashboardPlugin", "Monitor", "Snapshot", "install", "take_snapshot", "uninstall"]
