"""The demo's simulation in Python: one rank standing in for ``heat2d.c``/``heat2d.f90`` where they cannot be built.

The same heated plate, the same keys and the same arguments (read the header of
``simdask/demo/sim/heat2d.c``), in numpy, as a single rank without MPI:

    python -m simdask.demo.standin NX NY STEPS EPS SAMPLE_EVERY CONTROL MODEL PAUSE_MS LAG
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from ..client import Client, Dataset
from ..errors import KeyNotFoundError

__all__ = ["DT_STEP", "HEATER", "WAIT_S", "main", "substeps"]

#: Model time per step.
DT_STEP = 2e-3
#: The heater's centre (x, y) and width, as in heat2d.c and heat2d.f90.
HEATER = (0.5, 0.35, 0.08)
#: Longest wait (seconds) for the analysis to catch up.
WAIT_S = 60.0


def substeps(nx: int, ny: int) -> int:
    """Explicit sub-steps per step on an ``nx`` by ``ny`` grid (0.8 of the scheme's stability limit)."""
    hx, hy = 1.0 / (nx - 1), 1.0 / (ny - 1)
    return math.ceil(DT_STEP / (0.4 / (1 / hx**2 + 1 / hy**2)))


def main(argv: list[str]) -> int:
    """Run the simulation as rank 0 of 1; the exit status."""
    if len(argv) != 9:
        print(__doc__, file=sys.stderr)
        return 2
    nx, ny, steps, lag = int(argv[0]), int(argv[1]), int(argv[2]), int(argv[8])
    eps, sample_every, control, model, pause_ms = float(argv[3]), int(argv[4]), argv[5], argv[6], float(argv[7])
    hx, hy = 1.0 / (nx - 1), 1.0 / (ny - 1)
    n_sub = substeps(nx, ny)
    dt = DT_STEP / n_sub
    x, y = np.arange(nx) * hx, np.arange(ny) * hy
    cx, cy, width = HEATER
    heat = np.exp(-((x[None, :] - cx) ** 2 + (y[:, None] - cy) ** 2) / (2 * width**2))
    t = np.zeros((ny, nx))
    ctrl = np.array([0.0, 0.0, 1e9])  # [heating, use_surrogate, the last step the analysis saw]
    waiting = True  # for the analysis, while it keeps up
    latency = np.zeros(steps)
    sent = received = 0.0
    use_model = model != "-"
    client = Client()
    for step in range(steps):
        began = time.perf_counter()
        while True:  # at most LAG steps ahead of the analysis
            try:
                ctrl = client.get_tensor(control).astype(np.float64)
                received += ctrl.nbytes
            except KeyNotFoundError:
                break  # none yet: keep the last values
            if not waiting or step - ctrl[2] <= lag:
                break
            if time.perf_counter() - began > WAIT_S:
                print(
                    f"standin: the analysis saw no step after {ctrl[2]:.0f} for {WAIT_S:.0f} s: going on without "
                    "waiting",
                    file=sys.stderr,
                )
                waiting = False
            time.sleep(0.002)
        r = eps * t**4
        error = 0.0
        if use_model:
            client.put_tensor("Tin_0", t.astype(np.float32))
            called = time.perf_counter()
            client.run_model(model, inputs=["Tin_0"], outputs=["cool_0"])
            latency[step] = 1e3 * (time.perf_counter() - called)
            cool = client.get_tensor("cool_0")
            sent += 4 * t.size
            received += cool.nbytes
            error = float(np.abs(cool - r).max())
            if ctrl[1]:
                r = np.maximum(cool.astype(np.float64), 0.0)
        if step % sample_every == 0:
            sample = Dataset(f"sample_{step}_0")
            sample.add_tensor("T", t.astype(np.float32).ravel())
            sample.add_tensor("cooling", (eps * t**4).astype(np.float32).ravel())
            client.put_dataset(sample)
            client.append_to_list("samples", sample)
            sent += 8 * t.size
        for _ in range(n_sub):
            lap = np.zeros_like(t)
            lap[1:-1, 1:-1] = (t[1:-1, :-2] - 2 * t[1:-1, 1:-1] + t[1:-1, 2:]) / hx**2 + (
                t[:-2, 1:-1] - 2 * t[1:-1, 1:-1] + t[2:, 1:-1]
            ) / hy**2
            t[1:-1, 1:-1] += dt * (lap + ctrl[0] * heat - r)[1:-1, 1:-1]
        client.put_tensor(
            f"T_{step}_0",
            t,
            dims=("y", "x"),
            attrs={"units": "1", "long_name": "temperature", "language": "Python"},
            coords={
                "time": DT_STEP * (step + 1),
                "heating": float(ctrl[0]),
                "surrogate": float(ctrl[1]) if use_model else 0.0,
                "model_error": error,
                "x": x,
                "y": y,
            },
            block={"shape": (ny, nx), "start": (0, 0)},
        )
        sent += t.nbytes
        time.sleep(max(0.0, pause_ms * 1e-3 - (time.perf_counter() - began)))
    if use_model:
        client.put_tensor("latency_0", latency)
    client.put_tensor("io_0", np.array([sent, received]))
    client.close()  # ends this rank's part of the run
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
