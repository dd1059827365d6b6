"""Reading a run back: ``simdask.open_dataset`` vs ``xarray.open_dataset`` of the same data as NetCDF (issue 14).

A synthetic run shaped like the MPI mini-app of ``benchmarks/README.md``: 2
ranks, each writing its block of an ``--nx`` x ``--nz`` field (split along x)
for ``--vars`` variables and ``--steps`` outputs, as Fortran does (F order,
dims ``("x", "z")``, ``block=`` saying where it sits, a ``time`` coordinate),
under ``rank{rank:d}/{var}_{step:d}`` in a standalone store. The same global
arrays ``(step, z, x)`` are written to a NetCDF-4 file (netCDF4 engine,
uncompressed) in a temporary folder and read once before timing (page cache
warm). No distributed cluster: simdask computes in this process.

Three workloads, each from a fresh open (the open is timed too):

- ``open``: open alone;
- ``reduce``: per-step mean and max over (z, x) of every variable, built as a
  Dataset and computed (the same code for both: NetCDF's variables are numpy,
  read once each thanks to xarray's cache; simdask's are dask, one compute);
- ``load``: ``ds.load()``: every variable in memory.

simdask opens with its default chunks (``"auto"``) and, for comparison, with
``chunks={}`` (one chunk per key, the default before issue 14), and through
xarray's backend, ``xr.open_dataset(template, engine="simdask")`` without
``chunks``: no dask, lazily indexed numpy arrays, as NetCDF opens. Contenders
run round-robin, one sample each per repeat, after one warm-up each; the
median is shown, and simdask's time as a ratio to NetCDF's (< 1: faster).
Needs ``netCDF4`` (``pip install netCDF4``), which simdask itself does not.

Usage::

    python benchmarks/bench_netcdf.py [--steps 26] [--nx 800] [--nz 400] [--vars 3] [--repeat 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

TEMPLATE = "rank{rank:d}/{var}_{step:d}"
RANKS = 2


def write_run(client: Any, steps: int, nx: int, nz: int, names: list[str]) -> dict[str, np.ndarray]:
    """Store the ranks' blocks as a Fortran code would; return the global arrays ``(step, z, x)``."""
    rng = np.random.default_rng(0)
    full = {v: rng.random((steps, nz, nx)) for v in names}
    bounds = np.linspace(0, nx, RANKS + 1).astype(int)
    for step in range(steps):
        for rank in range(RANKS):
            x0, x1 = int(bounds[rank]), int(bounds[rank + 1])
            blocks = {}
            for v in names:
                fortran = np.asfortranarray(full[v][step, :, x0:x1].T)  # theta(nx_local, nz): F order
                blocks[v] = fortran
            for v, fortran in blocks.items():
                client.put_tensor(
                    f"rank{rank}/{v}_{step}",
                    fortran,
                    dims=("x", "z"),
                    coords={"time": 60.0 * step},
                    block={"shape": (nx, nz), "start": (x0, 0)},
                )
    return full


def write_netcdf(path: Path, full: dict[str, np.ndarray], steps: int) -> None:
    import xarray as xr

    time_ = xr.DataArray(60.0 * np.arange(steps), dims="step")
    ds = xr.Dataset({v: (("step", "z", "x"), a) for v, a in full.items()}, coords={"time": time_})
    ds.to_netcdf(path, engine="netcdf4", format="NETCDF4")


def reductions(ds: Any) -> Any:
    """Per-step mean and max of every variable, computed."""
    import xarray as xr

    out = {}
    for v in ds.data_vars:
        out[f"{v}_mean"] = ds[v].mean(("z", "x"))
        out[f"{v}_max"] = ds[v].max(("z", "x"))
    return xr.Dataset(out).compute()


def main() -> None:
    import xarray as xr

    import simdask

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=26)
    parser.add_argument("--nx", type=int, default=800)
    parser.add_argument("--nz", type=int, default=400)
    parser.add_argument("--vars", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    names = ["u", "w", "theta", "p", "q", "r"][: args.vars]
    workdir = Path(tempfile.mkdtemp(prefix="bench-netcdf-"))
    try:
        with simdask.Store() as store:
            client = simdask.Client(store.address)
            full = write_run(client, args.steps, args.nx, args.nz, names)
            path = workdir / "run.nc"
            write_netcdf(path, full, args.steps)
            nbytes = sum(a.nbytes for a in full.values())
            expected = {f"{v}_max": full[v].max(axis=(1, 2)) for v in names}

            def nc_open() -> Any:
                return xr.open_dataset(path, engine="netcdf4")

            def sd_open() -> Any:
                return simdask.open_dataset(TEMPLATE, client)

            def sd_open_per_key() -> Any:
                return simdask.open_dataset(TEMPLATE, client, chunks={})

            def sd_engine() -> Any:  # no dask: xarray's lazily indexed arrays, as NetCDF's default
                return xr.open_dataset(TEMPLATE, engine="simdask", address=client)

            def closing(opener: Callable[[], Any], work: Callable[[Any], Any]) -> Callable[[], Any]:
                def run() -> Any:
                    with opener() as ds:
                        return work(ds)

                return run

            contenders: dict[str, Callable[[], Any]] = {}
            for workload, work in (("open", lambda ds: None), ("reduce", reductions), ("load", lambda ds: ds.load())):
                contenders[f"{workload}_netcdf"] = closing(nc_open, work)
                contenders[f"{workload}_simdask"] = closing(sd_open, work)
                contenders[f"{workload}_simdask_per_key"] = closing(sd_open_per_key, work)
                contenders[f"{workload}_simdask_engine"] = closing(sd_engine, work)
            for label, run in contenders.items():  # warm-up: imports, connections, page cache; and check
                result = run()
                if label.startswith("reduce"):
                    for key, want in expected.items():
                        np.testing.assert_allclose(result[key].values, want)
                if label.startswith("load"):
                    for v in names:
                        np.testing.assert_array_equal(result[v].values, full[v])
            samples: dict[str, list[float]] = {label: [] for label in contenders}
            for _ in range(args.repeat):
                for label, run in contenders.items():
                    start = time.perf_counter()
                    run()
                    samples[label].append(time.perf_counter() - start)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out: dict[str, Any] = {"bytes": nbytes, "steps": args.steps, "shape": [args.nz, args.nx], "vars": names}
    print(f"{nbytes / 1e6:.0f} MB: {len(names)} variables x {args.steps} steps x {args.nz}x{args.nx} float64")
    for workload in ("open", "reduce", "load"):
        nc = statistics.median(samples[f"{workload}_netcdf"])
        sd = statistics.median(samples[f"{workload}_simdask"])
        per_key = statistics.median(samples[f"{workload}_simdask_per_key"])
        engine = statistics.median(samples[f"{workload}_simdask_engine"])
        spread = [min(samples[f"{workload}_simdask"]) * 1e3, max(samples[f"{workload}_simdask"]) * 1e3]
        out[workload] = {
            "netcdf_s": nc,
            "simdask_s": sd,
            "simdask_per_key_s": per_key,
            "ratio": sd / nc,
            "per_key_ratio": per_key / nc,
            "simdask_engine_s": engine,
            "engine_ratio": engine / nc,
            "simdask_ms_range": spread,
        }
        print(
            f"{workload:7s} netcdf {nc * 1e3:7.1f} ms  simdask {sd * 1e3:7.1f} ms "
            f"({spread[0]:.1f}-{spread[1]:.1f})  simdask/netcdf {sd / nc:4.2f}  "
            f"chunks={{}} {per_key * 1e3:7.1f} ms ({per_key / nc:4.2f})  "
            f"engine='simdask' {engine * 1e3:7.1f} ms ({engine / nc:4.2f})"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
