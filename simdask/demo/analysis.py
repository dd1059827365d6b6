"""The demo's live analysis: watch a simulation's run as xarray, compute its diagnostics on Dask, steer it.

For each simulation a thread follows its run with :func:`simdask.watch`
(one lazy Dataset per batch of new steps, ``T(step, y, x)`` with the step's
heating, surrogate flag and model error as coordinates), computes the
plate's mean and peak temperature on the Dask cluster (the workers read the
blocks from the store), and answers with the steering tensor
``[heating, use_surrogate, step seen]`` that the simulation reads every
step (and waits for, when it is more than a few steps ahead): a PI
controller holds the mean temperature at a target that steps up halfway,
and the surrogate is switched on once its answers (the model error each
step reports) have stayed close to the exact cooling for a few steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..bridge import watch
from ..client import Client

__all__ = ["CONCAT", "TEMPLATE", "Controller", "Switch", "Trace", "follow"]

#: The key template of the simulations' fields.
TEMPLATE = "T_{step:d}_{rank:d}"
#: Their ranks are blocks along y of one field.
CONCAT = {"rank": "y"}


@dataclass
class Controller:
    """A PI controller of the heating that holds the plate's mean temperature at the target of each step.

    The target is ``targets[0]`` for the first half of the run and
    ``targets[1]`` after; the heating stays within ``[0, limit]``.
    """

    steps: int
    targets: tuple[float, float] = (0.3, 0.6)
    heating: float = 20.0
    gain: float = 300.0
    integral_gain: float = 20.0
    limit: float = 1000.0
    _base: float = field(init=False, default=0.0)
    _integral: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self._base = self.heating

    def target(self, step: int) -> float:
        """The mean temperature wanted at ``step``."""
        return self.targets[0] if step < self.steps // 2 else self.targets[1]

    def update(self, step: int, mean: float, steps: int) -> float:
        """The new heating after seeing the mean temperature ``mean`` at ``step``, the last of ``steps`` new ones."""
        error = self.target(step) - mean
        self._integral += error * steps
        raw = self._base + self.gain * error + self.integral_gain * self._integral
        self.heating = float(np.clip(raw, 0.0, self.limit))
        return self.heating


@dataclass
class Trace:
    """What the analysis saw of one simulation's run and what it sent back.

    Per step, from the coordinates the simulation wrote: ``steps``,
    ``heating_used``, ``surrogate``, ``model_error``; and the target. Per
    batch of new steps (``live``): the last step, its mean and peak
    temperature computed on the cluster, the heating and surrogate flag sent
    back. ``mean`` and ``peak`` of every step are filled from the archive
    at the end.
    """

    language: str
    steps: list[int] = field(default_factory=list)
    target: list[float] = field(default_factory=list)
    heating_used: list[float] = field(default_factory=list)
    surrogate: list[float] = field(default_factory=list)
    model_error: list[float] = field(default_factory=list)
    live: list[tuple[int, float, float, float, float]] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    peak: list[float] = field(default_factory=list)
    error: BaseException | None = None


def _per_step(ds: xr.Dataset, name: str) -> np.ndarray:
    """Coordinate ``name`` with one value per step (xarray keeps a value shared by every step as a scalar)."""
    return np.broadcast_to(np.asarray(ds[name].values, dtype=np.float64), ds.sizes["step"])


@dataclass(frozen=True)
class Switch:
    """When the surrogate's answers are good enough: a model error (max over the plate) within ``tolerance`` of
    the largest exact cooling ``eps * peak**4``, ``steps`` steps in a row."""

    eps: float
    tolerance: float = 0.02
    steps: int = 5

    def ready(self, trace: Trace, peak: float) -> bool:
        """Whether the last steps of ``trace`` qualify, ``peak`` being the latest peak temperature."""
        if len(trace.steps) < self.steps:
            return False
        errors = np.asarray(trace.model_error[-self.steps :])
        return bool(np.all(errors <= self.tolerance * self.eps * max(peak, 1e-3) ** 4))

    def failing(self, trace: Trace, peak: float) -> bool:
        """Whether the latest answer is off by more than ``tolerance`` (the plate got hotter than the surrogate
        has seen): the simulation goes back to the exact term until the surrogate qualifies again."""
        return bool(trace.model_error) and trace.model_error[-1] > self.tolerance * self.eps * max(peak, 1e-3) ** 4


def follow(
    trace: Trace,
    address: str,
    run_id: str,
    control_key: str,
    controller: Controller,
    dask_client: Any,
    switch: Switch | None,
    say: Callable[[str], None],
    *,
    timeout: float = 120.0,
) -> None:
    """Follow run ``run_id`` to its end, steering it through ``control_key``; fills ``trace``.

    ``switch``: when to tell the simulation to use the surrogate (``None``:
    it has none). Meant as a thread's target: an error is kept in ``trace.error``.
    """
    client = Client(address)
    every = max(1, controller.steps // 6)
    next_report = 0
    use = 0.0
    try:
        steps_of_run = watch(
            TEMPLATE, client, run=run_id, batch=True, concat=CONCAT, timeout=timeout, interval=0.1, progress=False
        )
        for ds in steps_of_run:
            latest = ds.T.isel(step=-1)  # the newest step steers: a task per rank's block, not per step
            diagnostics = xr.Dataset({"mean": latest.mean(("y", "x")), "peak": latest.max(("y", "x"))})
            values = dask_client.compute(diagnostics).result(timeout=timeout)  # on the workers
            steps = ds.step.values.astype(int)
            mean, peak = float(values["mean"]), float(values["peak"])
            heating = controller.update(int(steps[-1]), mean, len(steps))
            trace.steps += steps.tolist()
            trace.target += [controller.target(int(s)) for s in steps]
            trace.heating_used += _per_step(ds, "heating").tolist()
            trace.surrogate += _per_step(ds, "surrogate").tolist()
            trace.model_error += _per_step(ds, "model_error").tolist()
            if use and switch is not None and switch.failing(trace, peak):
                use = 0.0
                say(
                    f"  {trace.language:>7} step {steps[-1]:>4}: the surrogate's error grew past "
                    f"{switch.tolerance:.0%}: the simulation goes back to the exact cooling while training goes on"
                )
            elif not use and switch is not None and switch.ready(trace, peak):
                use = 1.0
                say(
                    f"  {trace.language:>7} step {steps[-1]:>4}: the surrogate's answers stayed within "
                    f"{switch.tolerance:.0%} of the exact cooling for {switch.steps} steps: the analysis tells the "
                    "simulation to use them"
                )
            client.put_tensor(control_key, np.array([heating, use, steps[-1]], dtype=np.float64))
            trace.live.append((int(steps[-1]), mean, peak, heating, use))
            if steps[-1] >= next_report or steps[-1] == controller.steps - 1:
                next_report = int(steps[-1]) + every
                say(
                    f"  {trace.language:>7} step {steps[-1]:>4}: mean T {mean:.3f} (target "
                    f"{controller.target(int(steps[-1])):.2f}), heating used {trace.heating_used[-1]:7.1f}, "
                    f"sent {heating:7.1f}; model error {trace.model_error[-1]:.3g}"
                    f"{' (surrogate in use)' if trace.surrogate[-1] else ''}"
                )
    except BaseException as exc:  # reported by the thread that waits for this one
        trace.error = exc
    finally:
        client.close()
