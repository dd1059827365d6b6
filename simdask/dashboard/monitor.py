"""A thread that reads the store every few seconds and keeps what the page and the metrics show.

The page and ``/metrics`` run on the Dask scheduler's event loop: they only
read what :class:`Monitor` last took (never the store itself), so a slow or
unreachable store never holds the scheduler up.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from typing import Any

from ..client import Client
from ..errors import SimdaskError
from .snapshot import SCAN_LIMIT, Snapshot, shard_totals, take_snapshot

__all__ = ["GET_COMMANDS", "PUT_COMMANDS", "Monitor"]

log = logging.getLogger("simdask.dashboard")

#: The store commands counted as puts and gets (a chunked tensor counts once per chunk).
PUT_COMMANDS = ("set",)
GET_COMMANDS = ("get",)
#: Seconds each store command of the monitor may take (connecting, or waiting for a reply).
STORE_TIMEOUT_S = 5.0


class Monitor:
    """Read the store at ``address`` every ``interval`` seconds; keep the latest reading and rates.

    Parameters
    ----------
    address
        The store (``None``: ``SIMDASK_ADDRESS``).
    password
        ``None``: simdask's usual sources (``SIMDASK_PASSWORD``, else the
        credentials file of this user for the address).
    interval
        Seconds between readings.
    history
        Readings kept for the time series (rates, queue depth).
    scan_limit
        Runs' keys are counted while the store holds at most this many keys.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        password: str | None = None,
        interval: float = 2.0,
        history: int = 300,
        scan_limit: int = SCAN_LIMIT,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval}")
        self.address = address
        self.interval = interval
        self.scan_limit = scan_limit
        self._password = password
        self._client: Client | None = None
        self._lock = threading.Lock()
        self._latest: Snapshot | None = None
        self._error = ""
        self._history: deque[dict[str, float]] = deque(maxlen=history)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> Snapshot:
        """Read the store now (in the calling thread) and keep the reading; raises what reading raised."""
        try:
            if self._client is None:
                self._client = Client(
                    self.address,
                    password=self._password,
                    connect_timeout=STORE_TIMEOUT_S,
                    socket_timeout=STORE_TIMEOUT_S,
                )
            snapshot = take_snapshot(self._client, scan_limit=self.scan_limit)
        except SimdaskError as exc:
            with self._lock:
                self._error = str(exc)
            raise
        with self._lock:
            if self._latest is not None and snapshot.time > self._latest.time:
                self._history.append(_rates(self._latest, snapshot))
            self._latest, self._error = snapshot, ""
        return snapshot

    def start(self) -> Monitor:
        """Read the store every ``interval`` seconds in a daemon thread until :meth:`stop`; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="simdask-dashboard", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except SimdaskError as exc:  # shown on the page; the next reading tries again
                log.debug("simdask dashboard: reading the store failed: %s", exc)
            except Exception:  # a fault of the monitor's own: keep the dashboard alive
                log.exception("simdask dashboard: reading the store failed")

    def stop(self, timeout: float = STORE_TIMEOUT_S * 2) -> None:
        """Stop reading (waits at most ``timeout`` seconds for a reading under way) and close the client."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._client is not None:
            self._client.close()

    @property
    def latest(self) -> Snapshot | None:
        """The latest reading (``None`` before the first)."""
        with self._lock:
            return self._latest

    @property
    def error(self) -> str:
        """Why the latest attempt to read the store failed (``""``: it did not)."""
        with self._lock:
            return self._error

    def view(self) -> dict[str, Any]:
        """The latest reading, its rates and their history, as JSON-ready data (what ``simdask.json`` serves)."""
        with self._lock:
            latest, error, history = self._latest, self._error, list(self._history)
        data: dict[str, Any] = dataclasses.asdict(latest) if latest is not None else {}
        data["error"] = error
        data["interval"] = self.interval
        data["rates"] = history[-1] if history else None
        data["history"] = {name: [h[name] for h in history] for name in _RATE_NAMES}
        return data

    def __repr__(self) -> str:
        return f"<Monitor {self.address or '$SIMDASK_ADDRESS'} every {self.interval:g} s>"


_RATE_NAMES = ("time", "put_per_s", "get_per_s", "in_bytes_per_s", "out_bytes_per_s", "queued", "pending")


def _rates(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """Puts, gets and bytes per second between two readings (over the shards in both), and the queue."""
    elapsed = after.time - before.time
    common = {s.address for s in before.shards} & {s.address for s in after.shards}
    old = [s for s in before.shards if s.address in common]
    new = [s for s in after.shards if s.address in common]

    def rate(old_total: int, new_total: int) -> float:
        return max(0, new_total - old_total) / elapsed  # a restarted server counts from 0 again

    return {
        "time": after.time,
        "put_per_s": rate(shard_totals(old, PUT_COMMANDS), shard_totals(new, PUT_COMMANDS)),
        "get_per_s": rate(shard_totals(old, GET_COMMANDS), shard_totals(new, GET_COMMANDS)),
        "in_bytes_per_s": rate(sum(s.net_input_bytes for s in old), sum(s.net_input_bytes for s in new)),
        "out_bytes_per_s": rate(sum(s.net_output_bytes for s in old), sum(s.net_output_bytes for s in new)),
        "queued": float(sum(s.length - s.pending for s in after.streams)),
        "pending": float(sum(s.pending for s in after.streams)),
    }
