"""Watch an MPI simulation run twice into one store, from Python.

Starts a store, runs `heat_c` (or `heat_f`) under `mpirun -np 3` once,
then starts a watch *before* launching it a second time: the watch waits
for the second run and yields only its steps, although the first run's keys
(same names) are still in the store. Then both runs are opened by number.

    python examples/mpi/two_runs.py build/example-mpi/heat_c
"""

import os
import subprocess
import sys

import xarray as xr

import simdask

TEMPLATE = "theta_{step:d}_{rank:d}"


def mpirun(program: str, address: str, offset: float) -> subprocess.Popen:
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    command = ["mpirun", "-np", "3", "--oversubscribe", *root, program, "4", "0.2", str(offset)]
    return subprocess.Popen(command, env={**os.environ, "SIMDASK_ADDRESS": address})


def main(program: str) -> None:
    with simdask.Store() as store:
        if mpirun(program, store.address, 0.0).wait(timeout=120) != 0:
            sys.exit("the first run failed")
        watching = simdask.watch(TEMPLATE, store.address, timeout=60)  # before the ranks start
        job = mpirun(program, store.address, 1000.0)
        steps = []
        for ds in watching:
            print(f"step {int(ds.step[0])}: t = {float(ds.time[0])} s, mean theta = {float(ds.theta.mean()):.3f} K")
            steps.append(ds)
        if job.wait(timeout=120) != 0:
            sys.exit("the second run failed")
        second = xr.concat(steps, "step")
        assert float(second.theta.min()) > 1000, "the watch showed the first run"
        with simdask.Client(store.address) as client:
            for info in client.runs():
                print(f"run {info.number} ({info.run_id}): {info.state}, {info.writers} ranks")
        first = simdask.open_dataset(TEMPLATE, store.address, run=1)
        print(first.theta)
        print(f"run 1 mean {float(first.theta.mean()):.3f} K, run 2 mean {float(second.theta.mean()):.3f} K")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
