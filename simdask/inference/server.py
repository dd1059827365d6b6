"""``simdask.InferenceServer``: serving loops as long-lived Dask tasks, placed by resources.

One loop per worker (GPU workers, declared with ``resources={"GPU": n}``,
get the loops that serve GPU models). Dask places the loops, shows them on
its dashboard, and reschedules a loop whose worker died; the requests that
loop held are claimed again by the others. Requests never pass through the
scheduler.

:meth:`InferenceServer.stop` really stops the loops: they finish what they
hold; one still busy near the end of the timeout (a long model run) is
cancelled in its thread and answers nothing more. Then every loop's pending
requests are handed over (to whichever loop runs next) and its consumer is
deleted from the group, so the group does not grow with starts and stops.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from .. import config
from ..client import Client
from ..errors import ServiceStateError, SimdaskError
from ..protocol.requests import mark_loops_alive
from .display import server_html, server_line
from .loop import LoopSettings, cancel_loops, ensure_groups, release_consumers, run_serving_loop, stop_key

__all__ = ["InferenceServer"]

log = logging.getLogger("simdask.inference")

#: Seconds of a stop's timeout kept for cancelling loops still busy and for handing their requests over.
_CANCEL_S = 2.0


class InferenceServer:
    """Answer run requests (``run_model``/``run_script`` from any client) on a Dask cluster.

    Parameters
    ----------
    address
        The store (``None``: ``SIMDASK_ADDRESS``).
    dask_client
        A ``distributed.Client`` of the cluster to serve on (``None``: the current one).
    name
        Identifies this server's loops (several servers may share the stream).
    loops_per_worker
        Serving loops started on each worker.
    claim_idle
        Seconds after which requests a silent loop held are claimed by another.

    In Jupyter it shows a table of its loops: each one's state (``running``;
    ``waiting on its worker`` while the worker's threads or its GPU are busy;
    ``waiting for a worker``; Dask's ``finished``, ``error``, ...), its
    worker, its device and what it served, by model.

    Examples
    --------
    >>> with InferenceServer(store.address, dask_client):     # doctest: +SKIP
    ...     client.run_model("mlp", inputs=["x"], outputs=["y"])
    """

    def __init__(
        self,
        address: str | None = None,
        dask_client: Any = None,
        *,
        name: str | None = None,
        loops_per_worker: int = 1,
        claim_idle: float | None = None,
    ) -> None:
        if dask_client is None:
            from distributed import get_client

            dask_client = get_client()
        if loops_per_worker < 1:
            raise ValueError(f"loops_per_worker must be >= 1, got {loops_per_worker}")
        self.client = Client(address)
        self.dask = dask_client
        self.name = name or f"serve-{uuid.uuid4().hex[:8]}"
        self.loops_per_worker = loops_per_worker
        self.claim_idle_ms = int(1000 * float(config.get("inference.claim-idle", claim_idle)))
        self.futures: list[Any] = []
        self.consumers: list[str] = []

    def start(self) -> InferenceServer:
        """Start one serving loop per worker (``loops_per_worker`` each); returns ``self``.

        The loops' leases begin here, so run requests sent from now on wait for
        the loops (Dask may take a moment to start them) instead of failing
        for want of an inference service; each loop then renews its own.
        """
        if self.futures:
            raise ServiceStateError(f"inference server {self.name!r} is already started")
        workers = self.dask.scheduler_info()["workers"]
        if not workers:
            raise ServiceStateError("the Dask cluster has no workers to serve on")
        ensure_groups(self.client.session)
        self.client.session.transport.execute(stop_key(self.name), "UNLINK", stop_key(self.name))
        gpu_workers = {w for w, info in workers.items() if info.get("resources", {}).get("GPU", 0) > 0}
        planned = [
            (
                worker,
                LoopSettings(
                    server_id=self.name,
                    consumer=f"{self.name}-{i * self.loops_per_worker + j}",
                    gpu=worker in gpu_workers,
                    gpu_service=bool(gpu_workers),
                    claim_idle_ms=self.claim_idle_ms,
                ),
            )
            for i, worker in enumerate(sorted(workers))
            for j in range(self.loops_per_worker)
        ]
        mark_loops_alive(self.client.session, [s.consumer for _, s in planned], planned[0][1].lease_ms)
        for worker, settings in planned:
            self.futures.append(
                self.dask.submit(
                    run_serving_loop,
                    self.client,
                    settings,
                    key=f"simdask-serving-loop-{settings.consumer}",
                    workers=[worker],
                    allow_other_workers=True,
                    resources={"GPU": 1} if settings.gpu else None,
                    pure=False,
                )
            )
            self.consumers.append(settings.consumer)
        return self

    def status(self) -> dict[str, str]:
        """State of each serving loop's Dask task (``pending``, ``finished``, ``error``, ...)."""
        return {f.key: f.status for f in self.futures}

    def stop(self, timeout: float = 30) -> list[dict[str, Any]]:
        """Stop every loop and wait for them, at most ``timeout`` seconds; returns what each loop served.

        Loops finish the requests they hold. A loop still busy when
        ``min(2 s, timeout / 3)`` of the timeout are left (a long model run) is
        cancelled: it ends at its next Python instruction and answers nothing
        more. Then the pending requests of every loop are handed over and its
        consumer deleted from the group. Raises
        :class:`~simdask.errors.ServiceStateError` naming the loops that are
        still running after all that (stuck in a model run that never returns
        to Python); they will not answer anything either.
        """
        if not self.futures:
            return []
        from distributed import wait

        session = self.client.session
        started = time.monotonic()
        end = started + timeout
        key = stop_key(self.name)
        with session.limit(max(timeout, 1.0)):
            session.transport.execute(key, "SET", key, "1", "EX", 3600)
        try:
            wait(self.futures, timeout=max(0.0, end - min(_CANCEL_S, timeout / 3) - time.monotonic()))
        except TimeoutError:
            pass
        busy = [c for c, f in zip(self.consumers, self.futures) if not f.done()]
        if busy:
            log.warning("inference server %r: cancelling serving loops still busy: %s", self.name, busy)
            try:
                self.dask.run(cancel_loops, busy)
            except Exception as exc:  # a worker that cannot be reached: its loop is reported below
                log.warning("inference server %r: cancelling loops failed: %s", self.name, exc)
            try:
                wait([f for f in self.futures if not f.done()], timeout=max(0.05, end - time.monotonic()))
            except TimeoutError:
                pass
        stuck = [c for c, f in zip(self.consumers, self.futures) if not f.done()]
        results = [f.result() for f in self.futures if f.status == "finished"]
        for consumer, future in zip(self.consumers, self.futures):
            if future.status == "error":
                log.warning(
                    "inference server %r: serving loop %s ended with %r", self.name, consumer, future.exception()
                )
            if not future.done():
                future.cancel()
        consumers, self.futures, self.consumers = self.consumers, [], []
        try:
            with session.limit(max(_CANCEL_S, end - time.monotonic())):
                release_consumers(session, consumers)
                if not stuck:  # a stuck loop keeps seeing the stop key, should it ever come back
                    session.transport.execute(key, "UNLINK", key)
        except SimdaskError as exc:
            log.warning("inference server %r: handing the loops' requests over failed: %s", self.name, exc)
        if stuck:
            raise ServiceStateError(
                f"inference server {self.name!r}: serving loop(s) {stuck} did not stop within {timeout:g} s "
                "(busy in a model run that does not return); they will answer nothing more, and the "
                "requests they held were handed over"
            )
        return results

    def __enter__(self) -> InferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return server_line(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: each serving loop, where it runs (GPU or CPU worker) and what it served."""
        return server_html(self)
