"""Progress bars where simdask waits or moves a lot: ``tqdm.auto`` where it can show.

A widget in Jupyter (with ipywidgets), a text bar on a terminal, nothing
where the output is neither (a log file, a batch job's output): tqdm's
``disable=None``. The setting ``simdask.progress`` (``DASK_SIMDASK__PROGRESS``)
says ``false`` (never) or ``true`` (always, logs included); ``null`` is the
default just described. Without tqdm installed nothing shows and nothing
fails. A bar appears only after :data:`DELAY_S`, so short waits stay quiet.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from . import config

__all__ = ["DELAY_S", "bar", "compute"]

#: Seconds an operation runs before its bar shows.
DELAY_S = 0.5


class _NoBar:
    """What :func:`bar` gives where no bar shows: the same calls, doing nothing."""

    def __init__(self, total: float | None) -> None:
        self.total = total
        self.n: float = 0

    def update(self, n: float = 1) -> None:
        self.n += n

    def reset(self, total: float | None = None) -> None:
        self.n, self.total = 0, total

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _tqdm() -> Any:
    """``tqdm.auto.tqdm``, or ``None`` when progress is off or tqdm is not installed."""
    if config.get("progress") is False:
        return None
    try:
        with warnings.catch_warnings():  # in a kernel without ipywidgets tqdm.auto warns, then uses the text bar
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def bar(total: float | None, desc: str, *, unit: str = "it", unit_scale: bool = False) -> Any:
    """A progress bar (``update(n)``, ``close()``, a context manager) of ``total`` ``unit``.

    ``unit_scale=True`` shows large counts as k, M, G (bytes: ``unit="B"``).
    """
    tqdm = _tqdm()
    if tqdm is None:
        return _NoBar(total)
    disable = None if config.get("progress") is None else False
    return tqdm(
        total=total, desc=desc, unit=unit, unit_scale=unit_scale, disable=disable, delay=DELAY_S, dynamic_ncols=True
    )


class _Tasks:
    """A bar of a computation's tasks, made once their number is known (the scheduler tells)."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.shown: Any = None

    def progress(self, done: int, total: int) -> None:
        if self.shown is None:
            self.shown = bar(total, self.desc, unit="task")
        self.shown.update(done - self.shown.n)

    def close(self) -> None:
        if self.shown is not None:
            self.shown.close()


def compute(obj: Any, desc: str) -> Any:
    """``obj.compute()`` (a Dask collection or Delayed) with a bar of its tasks, on whichever scheduler runs it:
    the distributed client's (followed from the scheduler) or a local one (Dask's callbacks)."""
    if _tqdm() is None:
        return obj.compute()
    tasks = _Tasks(desc)
    try:
        client = _distributed_client()
        if client is None:
            from dask.callbacks import Callback

            count = {"done": 0, "total": 0}

            def start(_: Any, state: dict[str, Any]) -> None:
                count["total"] = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))
                tasks.progress(0, count["total"])

            def finished(*_: Any) -> None:
                count["done"] += 1
                tasks.progress(count["done"], count["total"])

            with Callback(start_state=start, posttask=finished):
                return obj.compute()
        future = client.compute(obj)
        try:
            _follow(client, future, tasks)
        except Exception:  # the bar is a nicety (a scheduler that refuses its feed, a closed loop): the result counts
            pass
        return future.result()
    finally:
        tasks.close()


def _distributed_client() -> Any:
    """The ``distributed.Client`` that Dask computes on now, or ``None`` (a local scheduler)."""
    if "distributed" not in sys.modules:
        return None
    from dask.base import get_scheduler
    from distributed import Client

    client = getattr(get_scheduler(), "__self__", None)
    return client if isinstance(client, Client) and not client.asynchronous else None


def _follow(client: Any, future: Any, tasks: _Tasks) -> None:
    """Show ``future``'s tasks finishing, as the scheduler reports them, until it is done."""
    from distributed.diagnostics.progressbar import ProgressBar

    class Follow(ProgressBar):
        def _draw_bar(self, remaining: int, all: int, **_: Any) -> None:
            tasks.progress(all - remaining, all)

    client.sync(Follow([future], scheduler=client.scheduler.address).listen)
