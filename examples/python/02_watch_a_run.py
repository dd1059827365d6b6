"""Follow a running simulation step by step, run after run, in one store.

The script starts a store and runs a "simulation" twice in separate
processes (this same file, run with --simulate ADDRESS VALUE), each writing
one step every 0.2 s under the same key names. Each simulation is one run
(docs/protocol.md, "Runs"): it begins it with one call, its keys go under
its own run prefix, and closing its client ends it:

    Python   client.begin_run() ... client.close()         (or client.end_run())
    C        sd_begin_run(c, NULL, 0, 1) ... sd_client_free(c)
    Fortran  call client%begin_run() ... call client%destroy()

Under mpirun, srun or an Experiment there is nothing to call: the ranks of
one job write one run, which ends when every rank has ended.

The analyst side iterates over simdask.watch(), started *before* each
simulation: it waits for the next run and yields each of its steps as a
small lazy Dataset as soon as the step is complete, and ends when the run
does. The second watch never shows the first run's steps, although the
first run's keys are still in the store (client.runs() lists both).

Run: python examples/python/02_watch_a_run.py
"""

import subprocess
import sys
import time

import numpy as np
import xarray as xr

import simdask

STEPS = 8


def simulate(address: str, start: float) -> None:
    with simdask.Client(address) as client:
        client.begin_run()
        field = np.full((4, 16), start)
        for step in range(STEPS):
            field = field + 1.0  # the "physics"
            client.put_tensor(f"u.step{step}", field, dims=("y", "x"), attrs={"units": "m/s"})
            client.put_tensor(f"v.step{step}", -field, dims=("y", "x"))
            time.sleep(0.2)


def watch_one_run(address: str, start: float) -> xr.Dataset:
    steps = []
    watching = simdask.watch("{var}.step{step:d}", address, timeout=30)
    writer = subprocess.Popen([sys.executable, __file__, "--simulate", address, str(start)])
    for ds in watching:  # the watch waits for the run the writer begins
        step = int(ds.step[0])
        print(f"step {step}: mean u = {float(ds.u.mean()):.1f}, mean v = {float(ds.v.mean()):.1f}")
        steps.append(ds)
    writer.wait(timeout=30)
    assert writer.returncode == 0
    return xr.concat(steps, "step")


def main() -> None:
    with simdask.Store() as store:
        for start in (0.0, 100.0):
            run = watch_one_run(store.address, start)
            assert run.sizes["step"] == STEPS
            assert np.allclose(run.u.mean(("y", "x")), start + np.arange(1, STEPS + 1))
            print(f"the run ended after {run.sizes['step']} steps")
        with simdask.Client(store.address) as client:
            print("runs in the store:", [(info.number, info.state) for info in client.runs()])


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--simulate":
        simulate(sys.argv[2], float(sys.argv[3]))
    else:
        main()
