"""A coupled workflow described once and launched here or on a batch system.

simdask.Experiment starts a store, a simulation that puts its field every
step (this same file, run with --simulate), and a Dask cluster; the analysis
follows that launch's run (sim.run_id) with simdask.watch and computes on the
Dask workers, which read the steps straight from the store. Only the launcher differs between a
laptop and a cluster:

    python examples/python/04_coupled_workflow.py                   # processes on this machine
    python examples/python/04_coupled_workflow.py --launcher slurm  # store and simulation as Slurm jobs,
                                                                    # Dask workers as jobs (dask-jobqueue)

On a cluster, say which network the store and Dask should use, e.g.
DASK_SIMDASK__EXPERIMENT__INTERFACE=ib0. Run directories, job scripts and
logs go to ./coupled_workflow/.

Run: python examples/python/04_coupled_workflow.py [--launcher local|slurm|pbs|auto]
"""

import argparse
import sys
import time

import numpy as np
import xarray as xr

import simdask

STEPS = 6


def simulate(steps: int, nu: float) -> None:
    """The simulation: finds the store through SIMDASK_ADDRESS, set by the launcher."""
    client = simdask.Client()  # a run of its own (SIMDASK_RUN_ID, set by the Experiment): it ends at exit
    x = np.linspace(0.0, 1.0, 64)
    for step in range(steps):
        field = np.exp(-nu * step) * np.sin(np.pi * x)[None, :] * np.ones((8, 1))  # decaying mode
        client.put_tensor(f"u.step{step}", field, dims=("y", "x"), attrs={"units": "m/s"})
        time.sleep(0.2)


def main(launcher: str) -> None:
    exp = simdask.Experiment("coupled_workflow", launcher=launcher)
    store = exp.create_store()
    sim = exp.create_model(
        "simulation", sys.executable, [__file__, "--simulate", STEPS, "--nu", 0.5], walltime="00:10:00"
    )
    dask = exp.create_dask_cluster(workers=2, walltime="00:10:00")
    with exp:  # leaving the block stops whatever still runs (store, workers): no job left behind
        exp.start(store, dask, sim)  # the store first; the others get its address
        client = dask.get_client(timeout=120)
        workers = len(client.scheduler_info()["workers"])
        print(f"{exp.launcher} launcher: store at {store.address}, {workers} Dask workers")
        steps = []
        for ds in simdask.watch("u.step{step:d}", store.address, run=sim.run_id, timeout=60):  # this launch's run
            # computed on a Dask worker, which reads the tensor from the store itself
            amplitude = float(ds.u.max().compute())
            print(f"step {int(ds.step[0])}: amplitude {amplitude:.3f}")
            steps.append(ds)
        run = xr.concat(steps, "step")
        decay = np.log(run.u.max(("y", "x")).compute()).diff("step").mean()
        print(f"decay rate per step: {-float(decay):.2f}")
        exp.wait(sim, timeout=60)
        print(exp.summary())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launcher", default="local", choices=("local", "slurm", "pbs", "auto"))
    parser.add_argument("--simulate", type=int, metavar="STEPS", help=argparse.SUPPRESS)
    parser.add_argument("--nu", type=float, default=0.5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulate is not None:
        simulate(args.simulate, args.nu)
    else:
        main(args.launcher)
