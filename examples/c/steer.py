"""Run the diffusion example (C or Fortran) against a fresh store and steer it from Python.

    python examples/c/steer.py build-example/diffusion [--steps N] [-- ARGS...]

Starts a simdask store, runs the program with SIMDASK_ADDRESS set, waits
until the field of the halfway step appears, writes the steering scalar
"kappa" the program polls for, and checks the program's last field against
the same scheme run in numpy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import numpy as np

from simdask import Client, Store


def reference(u0: np.ndarray, steps: int, kappa0: float, kappa1: float, axes: int) -> np.ndarray:
    """The programs' explicit scheme (zero boundary), kappa switching after the halfway step."""
    u, kappa = u0.copy(), kappa0
    for step in range(steps):
        lap = np.zeros_like(u)
        inner = (slice(1, -1),) * axes
        for axis in range(axes):
            ahead = tuple(slice(2, None) if a == axis else slice(1, -1) for a in range(axes))
            behind = tuple(slice(None, -2) if a == axis else slice(1, -1) for a in range(axes))
            lap[inner] += u[ahead] - 2.0 * u[inner] + u[behind]
        nxt = np.zeros_like(u)
        nxt[inner] = u[inner] + kappa * lap[inner]
        u = nxt
        if step == steps // 2:
            kappa = kappa1
    return u


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", help="the compiled diffusion example")
    parser.add_argument("args", nargs="*", help="its arguments")
    parser.add_argument("--steps", type=int, default=50, help="the program's number of steps")
    parser.add_argument("--kappa", type=float, default=0.1, help="the program's initial diffusivity")
    parser.add_argument("--new-kappa", type=float, default=0.2, help="the diffusivity to steer to")
    opts = parser.parse_args()
    half, new_kappa = opts.steps // 2, opts.new_kappa
    with Store() as store, Client(store.address) as client:
        env = dict(os.environ, SIMDASK_ADDRESS=store.address)
        program = subprocess.Popen([opts.program, *opts.args], env=env)
        first = f"u.{half:04d}"
        if not client.poll_tensor(first, 50, 400):
            program.kill()
            print(f"steer: {first} never appeared", file=sys.stderr)
            return 1
        field = client.get_tensor(first)
        print(f"steer: step {half}: field {field.shape}, max {field.max():.6f}; setting kappa = {new_kappa}")
        client.put_tensor("kappa", np.float64(new_kappa))
        if program.wait(timeout=120) != 0:
            return program.returncode
        last = client.get_tensor(f"u.{opts.steps - 1:04d}")
        expected = reference(initial_field(last.shape), opts.steps, opts.kappa, new_kappa, last.ndim)
        ok = np.allclose(last, expected, rtol=1e-12, atol=1e-15)
        print(f"steer: final field {last.shape}, max {last.max():.6f}, matches numpy: {ok}")
        return 0 if ok else 1


def initial_field(shape: tuple[int, ...]) -> np.ndarray:
    """The programs' initial condition: a Gaussian bump in the middle."""
    axes = [((np.arange(n) - n / 2) / (n / 20)) for n in shape]
    grids = np.meshgrid(*axes, indexing="ij")
    return np.exp(-sum(g * g for g in grids))


if __name__ == "__main__":
    sys.exit(main())
