"""Follow a running simulation step by step, until it marks the end of its run.

The script starts a store and a "simulation" in a separate process (this
same file, run with --simulate ADDRESS) that writes one step every 0.2 s.
The analyst side iterates over simdask.watch(): each step arrives as a
small lazy Dataset as soon as it is complete, and the loop ends cleanly when
the simulation puts the end-of-run marker, the tensor "simdask:end" (under
its key prefix), with one put_tensor:

    Python   client.put_tensor(simdask.END_OF_RUN, np.array(n_steps))
    C        sd_put_tensor(c, "simdask:end", &n_steps, SD_INT64, 0, NULL, SD_ORDER_C);
    Fortran  rc = client%put_tensor("simdask:end", n_steps)

A writer deletes a previous run's marker when it starts.

Run: python examples/python/02_watch_a_run.py
"""

import subprocess
import sys
import time

import numpy as np
import xarray as xr

import simdask

STEPS = 8


def simulate(address: str) -> None:
    client = simdask.Client(address)
    client.delete_tensor(simdask.END_OF_RUN)  # a marker left by an earlier run must not end this one
    field = np.zeros((4, 16))
    for step in range(STEPS):
        field = field + 1.0  # the "physics"
        client.put_tensor(f"u.step{step}", field, dims=("y", "x"), attrs={"units": "m/s"})
        client.put_tensor(f"v.step{step}", -field, dims=("y", "x"))
        time.sleep(0.2)
    client.put_tensor(simdask.END_OF_RUN, np.array(STEPS))


def main() -> None:
    with simdask.Store() as store:
        writer = subprocess.Popen([sys.executable, __file__, "--simulate", store.address])
        steps = []
        for ds in simdask.watch("{var}.step{step:d}", store.address, timeout=30):
            step = int(ds.step[0])
            print(f"step {step}: mean u = {float(ds.u.mean()):.1f}, mean v = {float(ds.v.mean()):.1f}")
            steps.append(ds)
        run = xr.concat(steps, "step")
        writer.wait(timeout=30)
        assert run.sizes["step"] == STEPS and writer.returncode == 0
        assert np.allclose(run.u.mean(("y", "x")), np.arange(1, STEPS + 1))
        print(f"the run ended after {run.sizes['step']} steps")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--simulate":
        simulate(sys.argv[2])
    else:
        main()
