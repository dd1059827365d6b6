"""A serving loop's lease: the store's record that the loop is alive to take run requests.

Run requests sent while no lease is alive are answered at once that no
inference service runs (``docs/protocol.md``, "Run requests").
"""

from __future__ import annotations

import logging
import threading

from ..errors import SimdaskError
from ..protocol import Session
from ..protocol.requests import drop_loops, mark_loops_alive

__all__ = ["Lease"]

log = logging.getLogger("simdask.inference")

_END_LEASE_S = 0.5  # a stopping loop's try at ending its lease (a store that is away: the lease runs out)


class Lease:
    """A loop's lease in the store (``LOOPS_KEY``, and its node's set), renewed every ``lease_ms / 4`` by a
    thread of its own, so that a loop busy in a long model run stays alive; ended when the block is left, or
    when the stop key appears (a loop stuck in a model run that never returns is not alive for new requests)."""

    def __init__(self, session: Session, consumer: str, lease_ms: int, stop: str, node: str) -> None:
        self.session = session
        self.consumer = consumer
        self.node = node
        self.lease_ms = lease_ms
        self.stop_key = stop
        self._lock = threading.Lock()  # a renewal and the end never cross: nothing renews an ended lease
        self._ended = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"simdask-lease-{consumer}", daemon=True)

    def renew(self) -> None:
        """Renew the lease now (unless it ended); a store that cannot be reached is tried at the next beat."""
        with self._lock:
            if self._ended:
                return
            try:
                with self.session.limit(self.lease_ms / 2000):
                    mark_loops_alive(self.session, [self.consumer], self.lease_ms, self.node)
            except SimdaskError as exc:
                log.debug("%s: renewing its lease failed: %s", self.consumer, exc)

    def end(self) -> None:
        """End the lease in the store, once; it is not renewed after this."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            try:
                with self.session.limit(_END_LEASE_S):
                    drop_loops(self.session, [self.consumer], [self.node])
            except SimdaskError as exc:  # the lease ends by itself
                log.debug("%s: ending its lease failed: %s", self.consumer, exc)

    def _beat(self) -> None:
        while not self._wake.wait(self.lease_ms / 4000) and not self._ended:
            try:
                with self.session.limit(self.lease_ms / 2000):
                    told = self.session.transport.execute(self.stop_key, "EXISTS", self.stop_key)
            except SimdaskError as exc:
                log.debug("%s: looking for its stop key failed: %s", self.consumer, exc)
                told = False
            if told:
                self.end()
                return
            self.renew()

    def __enter__(self) -> Lease:
        self.renew()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._wake.set()
        self.end()
