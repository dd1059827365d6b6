"""Serving loops as threads of one process, without Dask: ``simdask serve --threads N``, and with it the
loops a store runs itself (``simdask.Store(serve=N)``, as RedisAI ran models inside the database).

The loops are the same :class:`~simdask.inference.loop.ServingLoop` that
:class:`~simdask.InferenceServer` places on Dask workers, and they share the
request stream with any other server's. One process serves what one node's
cores (and GPUs) can; :class:`~simdask.InferenceServer` on Dask workers is
the path that scales.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .. import config
from ..client import Client
from ..errors import ServiceStateError, SimdaskError
from ..protocol.requests import mark_loops_alive
from .loop import LoopSettings, cancel_loops, ensure_groups, release_consumers, run_serving_loop, stop_key

__all__ = ["ThreadedServer", "gpu_visible"]

log = logging.getLogger("simdask.inference")

#: Seconds of a stop's timeout kept for cancelling loops still busy and for handing their requests over.
_CANCEL_S = 2.0


def gpu_visible() -> bool:
    """Whether this process sees an NVIDIA GPU: a device file ``/dev/nvidia<n>``, not hidden by an empty
    ``CUDA_VISIBLE_DEVICES`` (or ``-1``)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    return any(Path("/dev").glob("nvidia[0-9]*"))


class ThreadedServer:
    """Answer run requests with ``loops`` serving loops running as threads of this process.

    Parameters
    ----------
    address
        The store (``None``: ``SIMDASK_ADDRESS``); its password as every client finds it.
    loops
        Serving loops (threads) to run.
    name
        Identifies this server's loops (several servers may share the stream).
    gpu
        Whether the loops run GPU models (``device="GPU"``) too; ``None``: when
        :func:`gpu_visible`.
    claim_idle
        Seconds after which requests a silent loop held are claimed by another.

    Examples
    --------
    >>> with ThreadedServer(store.address, loops=2):     # doctest: +SKIP
    ...     client.run_model("mlp", inputs=["x"], outputs=["y"])
    """

    def __init__(
        self,
        address: str | None = None,
        loops: int = 1,
        *,
        name: str | None = None,
        gpu: bool | None = None,
        claim_idle: float | None = None,
    ) -> None:
        if loops < 1:
            raise ValueError(f"loops must be >= 1, got {loops}")
        self.client = Client(address)
        self.name = name or f"threads-{uuid.uuid4().hex[:8]}"
        self.loops = loops
        self.gpu = gpu_visible() if gpu is None else gpu
        self.claim_idle_ms = int(1000 * float(config.get("inference.claim-idle", claim_idle)))
        self.consumers: list[str] = []
        self._threads: list[threading.Thread] = []
        self._results: dict[str, dict[str, Any]] = {}

    def start(self) -> ThreadedServer:
        """Start the loops; their leases begin before this returns, so run requests wait for them."""
        if self._threads:
            raise ServiceStateError(f"inference server {self.name!r} is already started")
        session = self.client.session
        ensure_groups(session)
        session.transport.execute(stop_key(self.name), "UNLINK", stop_key(self.name))
        settings = [
            LoopSettings(
                server_id=self.name,
                consumer=f"{self.name}-{i}",
                gpu=self.gpu,
                gpu_service=self.gpu,
                claim_idle_ms=self.claim_idle_ms,
            )
            for i in range(self.loops)
        ]
        mark_loops_alive(session, [s.consumer for s in settings], settings[0].lease_ms)
        for loop in settings:
            thread = threading.Thread(
                target=self._serve, args=(loop,), name=f"simdask-serving-loop-{loop.consumer}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
            self.consumers.append(loop.consumer)
        return self

    def _serve(self, settings: LoopSettings) -> None:
        try:
            self._results[settings.consumer] = run_serving_loop(self.client, settings)
        except Exception:  # not expected (a loop answers its errors): say so in the log
            log.exception("serving loop %s ended with an error", settings.consumer)

    def running(self) -> list[str]:
        """The loops whose threads still run."""
        return [c for c, t in zip(self.consumers, self._threads) if t.is_alive()]

    def stop(self, timeout: float = 30) -> list[dict[str, Any]]:
        """Stop every loop, at most ``timeout`` seconds; returns what each loop served.

        As :meth:`simdask.InferenceServer.stop`: loops finish what they hold; one
        still busy when ``min(2 s, timeout / 3)`` are left is cancelled; then
        the requests of every loop are handed over and its lease ended. A store
        that cannot be reached (it stopped first) has every loop cancelled at
        once. Raises :class:`~simdask.errors.ServiceStateError` naming loops
        stuck in a model run that never returns to Python.
        """
        if not self._threads:
            return []
        session = self.client.session
        end = time.monotonic() + timeout
        key = stop_key(self.name)
        reachable = True
        try:
            with session.limit(max(1.0, min(timeout, _CANCEL_S))):
                session.transport.execute(key, "SET", key, "1", "EX", 3600)
        except SimdaskError as exc:
            log.warning("inference server %r: cannot tell the loops to stop (%s); cancelling them", self.name, exc)
            reachable = False
        if reachable:
            self._join(end - min(_CANCEL_S, timeout / 3))
        busy = self.running()
        if busy:
            if reachable:
                log.warning("inference server %r: cancelling serving loops still busy: %s", self.name, busy)
            cancel_loops(busy)
            self._join(end)
        stuck = self.running()
        consumers, self.consumers, self._threads = self.consumers, [], []
        if reachable:
            try:
                with session.limit(max(_CANCEL_S, end - time.monotonic())):
                    release_consumers(session, consumers)
                    if not stuck:  # a stuck loop keeps seeing the stop key, should it ever come back
                        session.transport.execute(key, "UNLINK", key)
            except SimdaskError as exc:
                log.warning("inference server %r: handing the loops' requests over failed: %s", self.name, exc)
        results, self._results = [self._results[c] for c in consumers if c in self._results], {}
        if stuck:
            raise ServiceStateError(
                f"inference server {self.name!r}: serving loop(s) {stuck} did not stop within {timeout:g} s "
                "(busy in a model run that does not return); they will answer nothing more"
            )
        return results

    def cancel(self) -> None:
        """The store is gone: end every loop at once, without telling the store (it cannot hear)."""
        cancel_loops(self.running())
        self._join(time.monotonic() + _CANCEL_S)
        self.consumers, self._threads, self._results = [], [], {}

    def _join(self, until: float) -> None:
        for thread in self._threads:
            thread.join(max(0.0, until - time.monotonic()))

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<ThreadedServer {self.name!r} loops={len(self._threads)} store={self.client.address}>"
