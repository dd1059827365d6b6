"""Follow a running simulation: yield each step as soon as it is complete.

A step is complete when it has every combination of the other fields seen so
far (every variable, every rank) and a later step has begun, or when the
writer has marked the end of its run by writing the tensor
:data:`END_OF_RUN` (``simdask:end``, under its key prefix) with any client:
Python, C or Fortran. ``docs/protocol.md`` ("End of a run") has the details.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from ..client import Client
from ..errors import KeyNotFoundError, StoreTimeoutError, WatchTimeoutError
from ..protocol.runs import END_OF_RUN, run_ended
from .catalog import Catalog, Entry
from .dataset import layout_of, to_xarray
from .layout import Chunks, Missing, name_keys
from .recipe import connected
from .template import VAR

if TYPE_CHECKING:
    import xarray

__all__ = ["watch"]


class _Progress:
    """One status line, rewritten in place."""

    def __init__(self, stream: IO[str] | None, template: str) -> None:
        self.stream = stream
        self.template = template
        self.width = 0

    def show(self, steps: int, last: Any, waiting: float) -> None:
        if self.stream is None:
            return
        text = f"simdask.watch {self.template!r}: {steps} step(s), last {last!r}, waiting {waiting:.0f} s"
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        if self.stream is not None and self.width:
            self.stream.write("\n")
            self.stream.flush()


def _progress_stream(progress: bool | IO[str] | None) -> IO[str] | None:
    if progress is None:
        return sys.stderr if sys.stderr.isatty() else None
    if progress is True:
        return sys.stderr
    return progress or None


class _Steps:
    """Which steps of a catalog are complete."""

    def __init__(self, catalog: Catalog, along: str) -> None:
        self.along = along
        self.others = [n for n in catalog.template.names if n != along]
        self.known: dict[str, set[Any]] = {n: set() for n in self.others}
        self.cells: dict[Any, dict[tuple[Any, ...], Entry]] = {}

    def add(self, entries: list[Entry]) -> None:
        for entry in entries:
            combo = tuple(entry.fields[n] for n in self.others)
            for name, value in zip(self.others, combo):
                self.known[name].add(value)
            self.cells.setdefault(entry.fields[self.along], {})[combo] = entry

    def complete(self, done: set[Any], ended: bool) -> list[Any]:
        """Steps not in ``done`` that are complete (all of them once the run has ended)."""
        if not self.cells:
            return []
        last = max(self.cells)
        expected = math.prod(len(values) for values in self.known.values())
        return sorted(
            s for s, cells in self.cells.items() if s not in done and (ended or (s != last and len(cells) == expected))
        )

    def entries(self, steps: list[Any]) -> list[Entry]:
        return [entry for s in steps for entry in self.cells[s].values()]

    def missing(self, step: Any) -> list[dict[str, Any]]:
        """Field values of the keys a step lacks (every combination of the other fields seen so far)."""
        have = self.cells[step]
        names = list(self.known)
        return [
            {**dict(zip(names, combo)), self.along: step}
            for combo in itertools.product(*(sorted(self.known[n]) for n in names))
            if combo not in have
        ]


def _check_complete(catalog: Catalog, steps: _Steps, ready: list[Any]) -> None:
    """At the end of a run, a step that lacks keys is an error naming them."""
    lacking = [catalog.key(fields) for s in ready for fields in steps.missing(s)]
    if lacking:
        raise KeyNotFoundError(
            f"the run writing key template {catalog.template.template!r} ended with {len(lacking)} key(s) missing: "
            f"{name_keys(lacking)} (watch with missing='nan' to get the steps without them)"
        )


def _along(catalog: Catalog, along: str | None, concat: Mapping[str, Any]) -> str:
    fields = [n for n in catalog.template.names if n != VAR and n not in concat]
    if along is None:
        along = "step" if "step" in fields else (fields[-1] if fields else None)
    if along not in fields:
        raise ValueError(
            f"watch needs a field of key template {catalog.template.template!r} that grows "
            f"(along=...; candidates: {fields})"
        )
    return along


def watch(
    template: str,
    address: str | Client | None = None,
    *,
    along: str | None = None,
    concat: Mapping[str, str | int] | None = None,
    chunks: Chunks | None = None,
    missing: Missing = "raise",
    name: str | None = None,
    timeout: float | None = 60.0,
    interval: float = 0.2,
    batch: bool = False,
    progress: bool | IO[str] | None = None,
) -> Iterator[xarray.Dataset]:
    """Yield the steps of a running simulation as lazy Datasets, as they become complete.

    Each poll scans for keys and reads the headers of new ones only. A step
    is complete when it holds every combination of the other fields seen so
    far and a later step has begun; when the writer puts the tensor
    :data:`END_OF_RUN` (``"simdask:end"``) the remaining steps are yielded
    and the iteration ends.

    Parameters
    ----------
    template, address, concat, chunks, name
        As for :func:`open_dataset`.
    missing
        ``"raise"`` (default): a step still lacking keys when the run ends is
        a :class:`~simdask.KeyNotFoundError` naming them; ``"nan"``: such
        steps are yielded with what they have (holes in a variable filled
        with NaN).
    along
        The field that grows (default ``step`` if the template has it, else
        its last dimension field).
    timeout
        Seconds to wait for a new complete step before raising
        :class:`WatchTimeoutError` (``None``: wait forever). The store's
        answers count against it: a store that stops answering ends the
        watch within ``timeout`` too.
    interval
        Seconds between polls.
    batch
        Yield every step that became complete since the last poll in one
        Dataset, instead of one Dataset per step.
    progress
        Show a status line: ``None`` (default) when stderr is a terminal,
        ``True`` on stderr, or a text stream to write it to.

    Yields
    ------
    xarray.Dataset
        The new step(s), with the ``along`` dimension kept (length 1 unless
        ``batch``): ``xarray.concat(list(watch(...)), "step")`` is the run.

    Examples
    --------
    >>> for ds in simdask.watch("{var}.step{step:d}", address, timeout=30):  # doctest: +SKIP
    ...     print(int(ds.step[0]), float(ds.u.mean()))
    """
    if interval < 0 or (timeout is not None and timeout < 0):
        raise ValueError(f"interval and timeout must be >= 0, got {interval}, {timeout}")
    with connected(address) as client:
        yield from _follow(client, template, along, concat, chunks, missing, name, timeout, interval, batch, progress)


def _follow(
    client: Client,
    template: str,
    along: str | None,
    concat: Mapping[str, str | int] | None,
    chunks: Chunks | None,
    missing: Missing,
    name: str | None,
    timeout: float | None,
    interval: float,
    batch: bool,
    progress: bool | IO[str] | None,
) -> Iterator[xarray.Dataset]:
    catalog = Catalog(client, template)
    steps = _Steps(catalog, _along(catalog, along, concat or {}))
    shown = _Progress(_progress_stream(progress), template)
    done: set[Any] = set()
    since = time.monotonic()

    def timed_out(cause: StoreTimeoutError | None = None) -> WatchTimeoutError:
        return WatchTimeoutError(
            f"no new complete step of key template {template!r} in the store at {client.address} "
            f"within {timeout} s ({len(done)} step(s) so far; a writer ends its run by putting "
            f"the tensor {END_OF_RUN!r})" + ("" if cause is None else f"; the store did not answer: {cause}")
        )

    try:
        while True:
            left = None if timeout is None else max(0.0, since + timeout - time.monotonic())
            try:
                with client.session.limit(left):  # never held across the yields below
                    # before the scan: everything written before the marker is seen
                    ended = run_ended(client.session, client.tensor_key(END_OF_RUN))
                    steps.add(catalog.refresh())
            except StoreTimeoutError as exc:
                raise timed_out(exc) from None
            ready = steps.complete(done, ended)
            if ended and missing == "raise":
                _check_complete(catalog, steps, ready)
            for group in [ready] if batch and ready else [[s] for s in ready]:
                layout = layout_of(
                    catalog, steps.entries(group), concat=concat, chunks=chunks, missing=missing, name=name
                )
                done.update(group)
                yield to_xarray(layout, client)
                since = time.monotonic()
            waiting = time.monotonic() - since
            shown.show(len(done), max(done) if done else None, waiting)
            if ended:
                return
            if timeout is not None and waiting > timeout:
                raise timed_out()
            time.sleep(interval)
    finally:
        shown.close()
