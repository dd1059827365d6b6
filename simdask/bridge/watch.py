"""Follow a running simulation: yield each step as soon as it is complete.

A step is complete when it has every combination of the other fields seen so
far (every variable, every rank) and a later step has begun, or when the run
has ended: all its writers ended their part (``docs/protocol.md``, "Runs"),
or, for writers outside a run, one put the tensor :data:`END_OF_RUN`
(``simdask:end``, under its key prefix) with any client: Python, C or
Fortran. A writer that dies ends the watch with an error naming it.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, TYPE_CHECKING, Any

from ..client import Client
from ..errors import KeyNotFoundError, RunNotFoundError, StoreTimeoutError, WatchTimeoutError
from ..protocol.runs import END_OF_RUN, RunInfo, check_launch, current_run, find_run, lease_seconds, run_ended, run_info
from .catalog import Catalog, Entry
from .dataset import layout_of, to_xarray
from .layout import Chunks, Missing, name_keys
from .recipe import connected
from .template import VAR, KeyTemplate

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


#: Steps ahead of the last one seen whose keys one probe looks for (fewer when a step has many keys).
LOOKAHEAD = 8
#: Keys one probe looks for at most.
PROBE_KEYS = 4096
#: Steps yielded before probes replace scans: until then every poll scans, so that the values of the other fields
#: (every variable, every rank) are those a whole scan saw, as a step's completeness depends on them.
SCANNED_STEPS = 2
#: Most polls between two scans of the store while probes find nothing new: a run whose steps the probes cannot
#: foresee (an irregular ``along``) is still followed, with scans that back off to this while they find nothing.
MAX_SCAN_WAIT = 64


class _Steps:
    """Which steps of a catalog are complete, and where to look for new keys.

    Its bookkeeping stays bounded however long the run: a step is forgotten
    (here and in the catalog) once yielded, and keys of yielded steps are
    passed over when seen again. New keys are found by probing the keys
    expected next (those the pending steps lack, and every combination of the
    other fields for the next values of an integer ``along``, at the smallest stride
    seen): one pipelined round trip whatever the store holds. The store
    is scanned at every poll until :data:`SCANNED_STEPS` steps were yielded
    (which sets the other fields' values), when the run ends, and, when
    probes find nothing, after 1, 2, 4, ... :data:`MAX_SCAN_WAIT` such polls
    (back to 1 when a scan finds what the probes did not).
    """

    def __init__(self, catalog: Catalog, along: str) -> None:
        self.along = along
        self.others = [n for n in catalog.template.names if n != along]
        self.known: dict[str, set[Any]] = {n: set() for n in self.others}
        self.cells: dict[Any, dict[tuple[Any, ...], Entry]] = {}  # steps seen and not yielded
        self.integer = any(f.name == along and f.is_int for f in catalog.template.fields)
        self.newest: Any = None  # the greatest step seen
        self.stride: int | None = None  # the smallest gap between two steps seen (integer steps)
        self.floor: Any = None  # every step seen at or below it was yielded
        self.done: set[Any] = set()  # steps yielded above the floor
        self.yielded_steps = 0
        self.idle = 0  # polls since the last scan in which probes found nothing
        self.wait = 1  # such polls before the next scan

    def add(self, entries: list[Entry]) -> None:
        for entry in entries:
            combo = tuple(entry.fields[n] for n in self.others)
            for name, value in zip(self.others, combo):
                self.known[name].add(value)
            step = entry.fields[self.along]
            if self.newest is None or step > self.newest:
                self.newest = step
            self.cells.setdefault(step, {})[combo] = entry
        if self.integer and entries:
            self._narrow_stride()

    def _narrow_stride(self) -> None:
        """The stride only ever narrows, to the smallest gap between the steps seen, whatever order the keys came
        in (a scan's order is the store's): probing at a stride wider than the writer's would find a later step
        first and pass over the ones between."""
        seen = sorted({*self.cells, *self.done, *(() if self.floor is None else (self.floor,))})
        gaps = [b - a for a, b in zip(seen, seen[1:])]
        if gaps:
            self.stride = min(gaps) if self.stride is None else min(self.stride, *gaps)

    def skip(self, fields: dict[str, Any]) -> bool:
        """Whether a key belongs to a step already yielded."""
        step = fields[self.along]
        return step in self.done or (self.floor is not None and step <= self.floor)

    def look(self, catalog: Catalog, *, scan: bool) -> None:
        """Find new keys (module docstring), and drop the keys the catalog found gone."""
        found = False
        if not scan and self.integer and self.newest is not None and self.yielded_steps >= SCANNED_STEPS:
            found = self._probe(catalog)
            self.idle = 0 if found else self.idle + 1
            scan = not found and self.idle >= self.wait
        else:
            scan = True
        if scan:
            new = catalog.refresh(skip=self.skip)
            self.add(new)
            self.idle = 0
            self.wait = 1 if new else min(2 * self.wait, MAX_SCAN_WAIT)
        for step in list(self.cells):
            cells = self.cells[step]
            for combo in [c for c, entry in cells.items() if entry.key not in catalog]:
                del cells[combo]
            if not cells:
                del self.cells[step]

    def _probe(self, catalog: Catalog) -> bool:
        """Probe the keys expected next, again while the farthest step probed has begun; whether any was new."""
        combos = max(1, math.prod(len(values) for values in self.known.values()))
        ahead = max(1, min(LOOKAHEAD, PROBE_KEYS // combos))
        found = False
        while True:
            upcoming = [self.newest + (self.stride or 1) * i for i in range(1, ahead + 1)]
            wanted = [fields for step in self.cells for fields in self.missing(step)]
            wanted += [fields for step in upcoming for fields in self._every(step)]
            new = catalog.probe(wanted)
            self.add(new)
            found = found or bool(new)
            if not any(entry.fields[self.along] == upcoming[-1] for entry in new):
                return found

    def complete(self, ended: bool) -> list[Any]:
        """Steps not yielded yet that are complete (all of them once the run has ended)."""
        if not self.cells:
            return []
        last = max(self.cells)
        expected = math.prod(len(values) for values in self.known.values())
        return sorted(
            s
            for s, cells in self.cells.items()
            if ended or (s != last and len(cells) == expected and _covered(cells.values()))
        )

    def entries(self, steps: list[Any]) -> list[Entry]:
        return [entry for s in steps for entry in self.cells[s].values()]

    def yielded(self, steps: list[Any]) -> list[str]:
        """Forget steps once yielded; returns their keys (for the catalog to forget)."""
        keys = [entry.key for s in steps for entry in self.cells.pop(s).values()]
        self.done.update(steps)
        self.yielded_steps += len(steps)
        lowest = min(self.cells) if self.cells else None
        below = [s for s in self.done if lowest is None or s < lowest]
        if below:
            self.floor = max(below) if self.floor is None else max(self.floor, *below)
            self.done.difference_update(below)
        return keys

    def _every(self, step: Any) -> list[dict[str, Any]]:
        """Field values of every combination of the other fields seen so far, at ``step``."""
        names = list(self.known)
        return [
            {**dict(zip(names, combo)), self.along: step}
            for combo in itertools.product(*(sorted(self.known[n]) for n in names))
        ]

    def missing(self, step: Any) -> list[dict[str, Any]]:
        """Field values of the keys a step lacks (every combination of the other fields seen so far)."""
        have = self.cells.get(step, {})
        return [fields for fields in self._every(step) if tuple(fields[n] for n in self.others) not in have]


def _covered(entries: Iterable[Entry]) -> bool:
    """Whether the tensors that are blocks of a global array (their ``block``) cover it, per variable: ranks that
    have not written yet are not known to be missing."""
    regions: dict[Any, set[tuple[tuple[int, ...], tuple[int, ...]]]] = {}
    sizes: dict[Any, int] = {}
    for entry in entries:
        block = entry.info.block
        if block is not None:
            var = entry.fields.get(VAR)
            regions.setdefault(var, set()).add((block.start, entry.info.shape))
            sizes[var] = math.prod(block.shape)
    return all(sum(math.prod(shape) for _, shape in regions[var]) >= size for var, size in sizes.items())


def _check_complete(catalog: Catalog, steps: _Steps, ready: list[Any]) -> None:
    """At the end of a run, a step that lacks keys is an error naming them."""
    lacking = [catalog.key(fields) for s in ready for fields in steps.missing(s)]
    if lacking:
        raise KeyNotFoundError(
            f"the run writing key template {catalog.template.template!r} ended with {len(lacking)} key(s) missing: "
            f"{name_keys(lacking)} (watch with missing='nan' to get the steps without them)"
        )


def _along(template: KeyTemplate, along: str | None, concat: Mapping[str, Any]) -> str:
    fields = [n for n in template.names if n != VAR and n not in concat]
    if along is None:
        along = "step" if "step" in fields else (fields[-1] if fields else None)
    if along not in fields:
        raise ValueError(
            f"watch needs a field of key template {template.template!r} that grows (along=...; candidates: {fields})"
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
    run: int | str | None = None,
) -> Iterator[xarray.Dataset]:
    """Yield the steps of a running simulation as lazy Datasets, as they become complete.

    Each poll looks for the keys expected next (those the pending steps
    lack, and those of the next steps of an integer ``along``, at the smallest stride
    seen) in one pipelined round trip, and reads the headers of new ones
    only; the store is scanned for keys at every poll until two steps were
    yielded, when the run ends, and now and then while those probes find nothing
    (after 1, 2, 4, ... up to 64 such polls), so that irregular steps are
    found too. A step is forgotten once yielded, and keys of yielded steps
    are passed over afterwards, so the cost of a step and the memory held
    stay the same over any number of steps; keys deleted before their step
    was yielded (a writer keeping its last steps only) are forgotten. A step
    is complete when it holds every combination of the other fields seen so
    far, the blocks of each global array (tensors with a ``block``) cover it,
    and a later step has begun; when the writer puts the tensor
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
    run
        Which run of the writer group (``docs/protocol.md``, "Runs"): a run
        number follows that run from its first step; ``None`` (default)
        follows the group's current run while it is running (or when it
        failed within one lease of its beginning: a writer on this host died
        at once, and the watch fails), else waits for the next run to begin,
        so a watch started before the writers never shows an earlier run. A
        run id (``Model.run_id`` of an ``Experiment``)
        is waited for until it begins, and followed from its first step even
        when it ended before the watch began. A group without runs is
        followed through its plain keys.

    Raises
    ------
    RunFailedError
        A writer of the run died without ending it: the message names it
        (index, host, pid). Known at the next poll when its process was on
        this host, else when its heartbeat expires (``SIMDASK_RUN_LEASE``,
        default 60 s, after its last write); a writer index that never began,
        a lease after the run began. A run id launched by an ``Experiment``
        on this host fails as soon as its process exits without having begun
        the run. A writer that dies before its first write, launched any
        other way, leaves nothing in the store: the watch waits for its run
        until ``timeout`` (``docs/protocol.md``, "Runs").
    WatchTimeoutError
        Nothing new (no run began, no step completed) within ``timeout``.

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
    along_name = _along(KeyTemplate(template), along, concat or {})
    with contextlib.ExitStack() as opened:
        client = opened.enter_context(connected(address))
        source = _Source(client, template, run)  # looked up at the call, not at the first step
        following = opened.pop_all()
    return _follow(
        following, client, source, along_name, concat, chunks, missing, name, timeout, interval, batch, progress
    )


def _follow(
    opened: contextlib.ExitStack,
    client: Client,
    source: _Source,
    along_name: str,
    concat: Mapping[str, str | int] | None,
    chunks: Chunks | None,
    missing: Missing,
    name: str | None,
    timeout: float | None,
    interval: float,
    batch: bool,
    progress: bool | IO[str] | None,
) -> Iterator[xarray.Dataset]:
    template = source.template
    steps = _Steps(source.catalog, along_name) if source.catalog is not None else None
    shown = _Progress(_progress_stream(progress), template)
    count, last = 0, None  # steps yielded, and the last of them
    since = time.monotonic()

    def timed_out(cause: StoreTimeoutError | None = None) -> WatchTimeoutError:
        if source.catalog is not None:
            what = f"no new complete step of key template {template!r}"
        elif source.awaited is not None:  # a writer that died before its first write left nothing to say so
            what = f"run {source.awaited!r} of writer group {source.group!r} did not begin"
        else:
            what = f"no run of writer group {source.group!r} began"
        hint = (
            ""
            if source.catalog is None or source.run is not None
            else (f"; a writer outside a run ends it by putting the tensor {END_OF_RUN!r}")
        )
        return WatchTimeoutError(
            f"{what} in the store at {client.address} within {timeout} s ({count} step(s) so far{hint})"
            + ("" if cause is None else f"; the store did not answer: {cause}")
        )

    try:
        while True:
            left = None if timeout is None else since + timeout - time.monotonic()
            if left is not None and left <= 0:
                raise timed_out()  # not the store's doing: a last poll would have no time left to answer
            try:
                with client.session.limit(left):  # never held across the yields below
                    if source.look(started=bool(count)):
                        assert source.catalog is not None
                        steps = _Steps(source.catalog, along_name)
                    # before the scan: everything written before the end is seen
                    ended = source.ended()
                    if steps is not None and source.catalog is not None:
                        steps.look(source.catalog, scan=ended)
            except StoreTimeoutError as exc:
                raise timed_out(exc) from None
            ready = steps.complete(ended) if steps is not None else []
            if ended and missing == "raise" and steps is not None and source.catalog is not None:
                _check_complete(source.catalog, steps, ready)
            for group in [ready] if batch and ready else [[s] for s in ready]:
                assert steps is not None and source.catalog is not None
                layout = layout_of(
                    source.catalog, steps.entries(group), concat=concat, chunks=chunks, missing=missing, name=name
                )
                source.catalog.forget(steps.yielded(group))
                count, last = count + len(group), group[-1]
                yield to_xarray(layout, client)
                since = time.monotonic()
            waiting = time.monotonic() - since
            shown.show(count, last, waiting)
            if ended:
                return
            if timeout is not None and waiting > timeout:
                raise timed_out()
            time.sleep(interval)
    finally:
        shown.close()
        opened.close()


class _Source:
    """Which keys a watch follows (``docs/protocol.md``, "Runs").

    A run named by number; else the group's current run while it is running;
    else the next run to begin, so that an earlier run never shows. A group
    without any run is followed through its plain keys and end marker until
    a run begins (before anything was yielded).
    """

    def __init__(self, client: Client, template: str, run: int | str | None) -> None:
        self.client, self.template = client, template
        self.group = client.data_source
        self.catalog: Catalog | None = None
        self.run: int | None = None
        self.baseline: int | None = None
        self.plain = not client.uses_tensor_prefix  # prefixes switched off: plain keys, no runs
        session = client.session
        self.awaited = run if isinstance(run, str) else None  # a run id whose run may not have begun yet
        if run is not None:
            try:
                self._follow_run(find_run(session, self.group, run))
            except RunNotFoundError:
                if self.awaited is None:
                    raise
            return
        current = None if self.plain else current_run(session, self.group)
        if current is None:
            self.catalog = Catalog(client, template, None)  # plain keys, until a run begins
        else:
            info = run_info(session, self.group, current)
            if info is not None and (info.state == "running" or _just_failed(info)):
                self._follow_run(current)
            else:
                self.baseline = current  # wait for the next run

    def _follow_run(self, run: int) -> None:
        self.run = run
        self.catalog = Catalog(self.client, self.template, run)

    def look(self, *, started: bool) -> bool:
        """Whether a run began that the watch now follows instead (then ``self.catalog`` is its)."""
        if self.awaited is not None and self.run is None:
            try:
                self._follow_run(find_run(self.client.session, self.group, self.awaited))
            except RunNotFoundError:
                check_launch(self.client.session, self.group, self.awaited)  # its launched process is gone: raises
                return False
            return True
        if self.run is not None or self.plain or (started and self.baseline is None):
            return False
        current = current_run(self.client.session, self.group)
        if current is None or current == self.baseline:
            return False
        self._follow_run(current)
        return True

    def ended(self) -> bool:
        """Whether what the watch follows is over; a run whose writer died raises :class:`RunFailedError`."""
        if self.catalog is None:
            return False
        if self.run is None:
            return run_ended(self.client.session, self.catalog.prefix + END_OF_RUN)
        info = run_info(self.client.session, self.group, self.run)
        if info is None:
            raise RunNotFoundError(f"run {self.run} of writer group {self.group!r} was deleted during the watch")
        info.check()
        return info.state == "ended"


def _just_failed(info: RunInfo) -> bool:
    """Whether a run failed within one lease of its beginning: a writer on this host died (a heartbeat runs a
    lease). A watch called then is taken to be the caller's watch of that run, not one for the next run."""
    return info.state == "failed" and info.read_at is not None and info.read_at - info.began < lease_seconds()
