"""``simdask.InferenceServer``: serving loops as long-lived Dask tasks, placed by resources.

One loop per worker (GPU workers, declared with ``resources={"GPU": n}``,
get the loops that serve GPU models). Dask places the loops, shows them on
its dashboard, and reschedules a loop whose worker died; the requests that
loop held are claimed again by the others. Requests never pass through the
scheduler.
"""

from __future__ import annotations

import uuid
from typing import Any

from .. import config
from ..client import Client
from ..errors import ServiceStateError
from .loop import LoopSettings, ensure_groups, run_serving_loop, stop_key

__all__ = ["InferenceServer"]


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

    def start(self) -> InferenceServer:
        """Start one serving loop per worker (``loops_per_worker`` each); returns ``self``."""
        if self.futures:
            raise ServiceStateError(f"inference server {self.name!r} is already started")
        workers = self.dask.scheduler_info()["workers"]
        if not workers:
            raise ServiceStateError("the Dask cluster has no workers to serve on")
        ensure_groups(self.client.session)
        self.client.session.transport.execute(stop_key(self.name), "UNLINK", stop_key(self.name))
        gpu_workers = {w for w, info in workers.items() if info.get("resources", {}).get("GPU", 0) > 0}
        for worker in sorted(workers):
            gpu = worker in gpu_workers
            for _ in range(self.loops_per_worker):
                settings = LoopSettings(
                    server_id=self.name,
                    consumer=f"{self.name}-{len(self.futures)}",
                    gpu=gpu,
                    gpu_service=bool(gpu_workers),
                    claim_idle_ms=self.claim_idle_ms,
                )
                self.futures.append(self.dask.submit(
                    run_serving_loop, self.client, settings,
                    key=f"simdask-serving-loop-{settings.consumer}",
                    workers=[worker], allow_other_workers=True,
                    resources={"GPU": 1} if gpu else None, pure=False,
                ))
        return self

    def status(self) -> dict[str, str]:
        """State of each serving loop's Dask task (``pending``, ``finished``, ``error``, ...)."""
        return {f.key: f.status for f in self.futures}

    def stop(self, timeout: float = 30) -> list[dict[str, Any]]:
        """Tell every loop to finish and wait for them; returns what each loop served."""
        if not self.futures:
            return []
        key = stop_key(self.name)
        self.client.session.transport.execute(key, "SET", key, "1", "EX", 3600)
        try:
            from distributed import wait

            wait(self.futures, timeout=timeout)
            return [f.result() for f in self.futures if f.status == "finished"]
        finally:
            for future in self.futures:
                if not future.done():
                    future.cancel()
            self.futures = []
            self.client.session.transport.execute(key, "UNLINK", key)

    def __enter__(self) -> InferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<InferenceServer {self.name!r} loops={len(self.futures)} store={self.client.address}>"
