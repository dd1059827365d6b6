"""Simulation data as a lazy xarray Dataset, analysed on a Dask cluster, and back.

Four "MPI ranks" each own a slab of a 1-D domain split along x (the slabs
differ in size) and put one tensor per variable and step. The analyst opens
them all as one lazy Dataset (only headers are read), computes on Dask
workers that read their chunks straight from the store, writes a result
back for the simulation to poll, and keeps a copy of the run as zarr.

Run: python examples/python/01_xarray_bridge.py
"""

import tempfile
from pathlib import Path

import numpy as np
import xarray as xr
from distributed import Client as DaskClient
from distributed import LocalCluster

import simdask

NX = [5, 3, 4, 6]  # cells per rank: uneven domain decomposition
STEPS = 6


def simulate(client: simdask.Client) -> np.ndarray:
    """What the simulation's ranks would do: one put_tensor per rank, variable and step."""
    x = np.linspace(0.0, 1.0, sum(NX))
    full = np.empty((STEPS, sum(NX)))
    for step in range(STEPS):
        full[step] = np.sin(2 * np.pi * (x - 0.1 * step))
        start = 0
        for rank, nx in enumerate(NX):
            block = full[step, start : start + nx]
            client.put_tensor(f"rank{rank}/u_{step}", block, dims=("x",), attrs={"units": "m/s"})
            client.put_tensor(f"rank{rank}/T_{step}", 300 + block, dims=("x",), attrs={"units": "K"})
            start += nx
    return full


def main() -> None:
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        truth = simulate(client)

        # One lazy Dataset: steps stacked, ranks tiled along x; nothing but headers read yet.
        ds = simdask.open_dataset("rank{rank:d}/{var}_{step:d}", client, concat={"rank": "x"})
        print(ds)

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, DaskClient(cluster):
            # Each worker reads its chunks from the store through its own connection.
            mean_u = ds.u.mean("step").compute()
            assert np.allclose(mean_u, truth.mean(axis=0))
            print("time-mean of u at the first cells:", np.round(mean_u.values[:4], 3))

            # Results back to the store, one key per step, written by the workers.
            anomaly = (ds.T - ds.T.mean("step")).rename("T_anomaly")
            names = simdask.to_store(anomaly, "analysis/T_anomaly.step{step:d}", client)
            print("written:", names[:2], "...")
            print("the simulation polls:", client.poll_tensor(names[-1], 10, 10), client.tensor_info(names[-1]).dims)

            # Keep steps 2..5 as zarr on disk, readable after the store is gone.
            path = Path(tempfile.mkdtemp()) / "run.zarr"
            simdask.to_zarr(
                "rank{rank:d}/{var}_{step:d}", path, client, concat={"rank": "x"}, sel={"step": slice(2, 5)}
            )
    kept = xr.open_zarr(path)
    assert np.allclose(kept.u.values, truth[2:6])
    print("kept as zarr:", dict(kept.sizes), kept.T.attrs)


if __name__ == "__main__":
    main()
