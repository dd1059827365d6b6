"""The scheduler plugin that serves the simdask page, ``simdask.json`` and the metrics, and installing it.

:func:`install` registers :class:`DashboardPlugin` on a Dask scheduler. In
the scheduler process the plugin starts a :class:`~.monitor.Monitor` on the
store, then adds to the scheduler's own web server (once per scheduler):

- ``/simdask``: the bokeh page (:mod:`.page`), linked from the dashboard's
  navigation bar (when the scheduler has bokeh);
- ``/simdask.json``: the latest reading as JSON;
- the ``simdask_*`` Prometheus metrics on the scheduler's ``/metrics`` (when
  it has ``prometheus_client``; :mod:`.metrics`).

The plugin carries the store's address and, only when one is given, its
password (pickled to the scheduler over Dask's own connection, never shown);
without one the scheduler finds it where every simdask client does
(``SIMDASK_PASSWORD``, else this user's credentials file for the address).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin
from tornado import web

from .monitor import Monitor

__all__ = ["PLUGIN_NAME", "DashboardPlugin", "install", "uninstall"]

log = logging.getLogger("simdask.dashboard")

#: The name the plugin is registered under on the scheduler.
PLUGIN_NAME = "simdask-dashboard"
#: Dask task keys of serving loops (``simdask.InferenceServer``): this prefix, then the loop's consumer name.
LOOP_TASK_PREFIX = "simdask-serving-loop-"
_SERVED: weakref.WeakSet[Any] = weakref.WeakSet()  # schedulers whose web server has the simdask routes


class DashboardPlugin(SchedulerPlugin):
    """Serve the simdask page and metrics of the store at ``address`` from the Dask scheduler.

    Parameters are :class:`~.monitor.Monitor`'s. Register it with
    :func:`install`; registering another one replaces it.
    """

    name = PLUGIN_NAME

    def __init__(self, address: str, *, password: str | None = None, interval: float = 2.0) -> None:
        self.address = address
        self.interval = interval
        self._password = password
        self.monitor: Monitor | None = None
        self.scheduler: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"address": self.address, "interval": self.interval, "_password": self._password}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["address"], password=state["_password"], interval=state["interval"])  # type: ignore[misc]

    async def start(self, scheduler: Any) -> None:
        """Read the store once (raising, so that :func:`install` fails, when it cannot), then serve."""
        monitor = Monitor(self.address, password=self._password, interval=self.interval)
        try:
            await asyncio.to_thread(monitor.poll)
        except BaseException:
            await asyncio.to_thread(monitor.stop)
            raise
        previous = scheduler.plugins.get(PLUGIN_NAME)
        if isinstance(previous, DashboardPlugin) and previous is not self:
            del scheduler.plugins[PLUGIN_NAME]  # replaced now (the scheduler adds this one when start returns)
            await previous.close()
        self.monitor, self.scheduler = monitor.start(), scheduler
        _serve(scheduler)
        from . import metrics

        metrics.watch(self)

    async def close(self) -> None:
        """Stop reading the store (the page then says so)."""
        from . import metrics

        metrics.unwatch(self)
        if self.monitor is not None:
            monitor, self.monitor = self.monitor, None
            await asyncio.to_thread(monitor.stop)

    def view(self) -> dict[str, Any]:
        """The latest reading as JSON-ready data, with the serving loops' placement as Dask knows it."""
        if self.monitor is None:
            return {"error": "the simdask dashboard is stopped"}
        data = self.monitor.view()
        placed = dask_loops(self.scheduler)
        for loop in data.get("loops", []):
            worker, gpu = placed.get(loop["consumer"], ("", None))
            loop["worker"] = loop["worker"] or worker
            loop["gpu"] = loop["gpu"] if loop["gpu"] is not None else gpu
        return data

    def __repr__(self) -> str:
        return f"<DashboardPlugin {self.address} every {self.interval:g} s>"


def dask_loops(scheduler: Any) -> dict[str, tuple[str, bool]]:
    """The serving loops running as tasks on this scheduler: consumer -> (worker, whether it has a GPU)."""
    placed = {}
    for key, task in list(getattr(scheduler, "tasks", {}).items()):
        if isinstance(key, str) and key.startswith(LOOP_TASK_PREFIX) and task.processing_on is not None:
            worker = task.processing_on
            placed[key[len(LOOP_TASK_PREFIX) :]] = (worker.address, worker.resources.get("GPU", 0) > 0)
    return placed


def current_plugin(scheduler: Any) -> DashboardPlugin | None:
    """The simdask dashboard plugin of ``scheduler``, if one is installed."""
    plugin = scheduler.plugins.get(PLUGIN_NAME)
    return plugin if isinstance(plugin, DashboardPlugin) else None


class SnapshotHandler(web.RequestHandler):
    """``GET simdask.json``: the latest reading of the store (404 while no dashboard is installed)."""

    def initialize(self, scheduler: Any) -> None:
        self.scheduler = scheduler

    def get(self) -> None:
        plugin = current_plugin(self.scheduler)
        if plugin is None:
            self.set_status(404)
        data = plugin.view() if plugin is not None else {"error": "no simdask dashboard is installed"}
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(data))


def _bokeh_prefix(scheduler: Any) -> str | None:
    """The URL prefix of the scheduler's dashboard (``None``: it has no bokeh dashboard)."""
    try:
        from bokeh.server.tornado import BokehTornado
    except ImportError:
        return None
    apps = [a for a in scheduler.http_application.applications if isinstance(a, BokehTornado)]
    return apps[0].prefix if apps else None


def _serve(scheduler: Any) -> None:
    """Add the page, its link and ``simdask.json`` to the scheduler's web server (once per scheduler)."""
    if scheduler in _SERVED:
        return
    prefix = _bokeh_prefix(scheduler)
    base = (prefix or "").rstrip("/")
    scheduler.http_application.add_handlers(
        r".*", [(rf"{base}/simdask\.json", SnapshotHandler, {"scheduler": scheduler})]
    )
    if prefix is not None:
        from distributed.dashboard.core import BokehApplication
        from distributed.dashboard.scheduler import template_variables
        from tornado.ioloop import IOLoop

        from .page import simdask_doc

        variables = template_variables(scheduler)
        app = BokehApplication({"/simdask": simdask_doc}, scheduler, prefix=prefix, template_variables=variables)
        scheduler.http_application.add_application(app)
        app.initialize(IOLoop.current())
        app.start()
        if "simdask" not in variables["pages"]:
            variables["pages"].append("simdask")  # every dashboard page's navigation bar shares this list
    else:
        log.warning("the Dask scheduler has no bokeh dashboard: simdask serves %s/simdask.json only", base)
    _SERVED.add(scheduler)


def install(
    dask_client: Any = None, address: str | None = None, *, password: str | None = None, interval: float = 2.0
) -> str:
    """Add the simdask page (and metrics) of the store at ``address`` to the Dask dashboard; returns its URL.

    Parameters
    ----------
    dask_client
        A ``distributed.Client`` of the cluster whose scheduler serves the
        page (``None``: the current one).
    address
        The store (``None``: ``SIMDASK_ADDRESS``), as the scheduler reaches it.
    password
        The store's password; ``None``: the scheduler finds it as every
        simdask client does (``SIMDASK_PASSWORD``, else the credentials file).
    interval
        Seconds between readings of the store.

    Raises what reading the store from the scheduler raised (an unreachable
    store, a wrong password), naming the address. Installing again replaces
    the previous page's store.

    Examples
    --------
    >>> import simdask.dashboard                                      # doctest: +SKIP
    >>> simdask.dashboard.install(dask_client, store.address)         # doctest: +SKIP
    'http://127.0.0.1:8787/simdask'
    """
    if dask_client is None:
        from distributed import get_client

        dask_client = get_client()
    if address is None:
        from ..transport import address_from_env

        address = address_from_env(None)
    dask_client.register_plugin(DashboardPlugin(address, password=password, interval=interval), name=PLUGIN_NAME)
    link = dask_client.dashboard_link or ""
    return link.rsplit("/", 1)[0] + "/simdask" if link else ""


async def _remove(dask_scheduler: Any) -> bool:
    plugin = current_plugin(dask_scheduler)
    if plugin is None:
        return False
    dask_scheduler.remove_plugin(PLUGIN_NAME)
    await plugin.close()
    return True


def uninstall(dask_client: Any = None) -> bool:
    """Stop the simdask page's readings of the store (the page stays, saying so); whether one was installed."""
    if dask_client is None:
        from distributed import get_client

        dask_client = get_client()
    return bool(dask_client.run_on_scheduler(_remove))
