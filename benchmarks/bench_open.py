"""Open alone (issue 14): ``simdask.open_dataset`` of a run vs ``xarray.open_dataset`` of the same data as NetCDF.

The run is shaped like a 2-rank Fortran MPI mini-app's output: ``--steps`` steps
of ``--vars`` variables, each an ``NX x NZ`` float64 field split along x between
two ranks, every rank's block stored in F order with dims ``("x", "z")``, a
``units`` attr, a ``time`` coordinate and its place in the global array
(``block=``), under ``rank{rank:d}/{var}_{step:d}``: it opens as
``var(step, z, x)`` (800 x 400 x 3 variables x 26 steps: ~200 MB). With
``--lists`` each block also carries its part of the ``x`` coordinate as a list
(headers longer than one 512-byte probe).

The same data are written with ``xarray.Dataset.to_netcdf(engine="netcdf4")``
to a file in a temporary folder (page cache warm). Contenders, in one process,
interleaved one open at a time (after a warm-up), 31 opens each per repeat,
the median of each per repeat (so that a stall of this shared machine spoils
one open, not a repeat):

- ``simdask``: ``simdask.open_dataset(template, client)`` (one client, as a
  notebook keeps one): SCAN, pipelined header reads, layout, dask graph,
  xarray Dataset;
- ``simdask_address``: the same given the store's address (a client is
  connected and closed per open);
- ``netcdf``: ``xarray.open_dataset(path, engine="netcdf4")`` then ``close()``.

Printed: per repeat each contender's ms per open and the ratio
simdask / netcdf (below 1: simdask opens faster); the median and the spread
(min-max) of the ratios; and, as a diagnostic, the median time of each phase
of the simdask open (catalog: SCAN and headers; layout; to_xarray).

Usage::

    python benchmarks/bench_open.py [--repeat 9] [--steps 26] [--vars 3] [--lists] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

NX, NZ, RANKS = 800, 400, 2
TEMPLATE = "rank{rank:d}/{var}_{step:d}"
VARIABLES = ("u", "w", "theta", "dens", "p", "q")
ROUNDS = 31  # opens of each contender per repeat


def per_call(fn: Callable[[], Any], at_least: float = 0.04) -> float:
    """Seconds per call of ``fn``, over back-to-back calls lasting ``at_least`` seconds."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= at_least:
            return elapsed / calls


def write_run(client: Any, path: Path, steps: int, variables: tuple[str, ...], lists: bool) -> None:
    """The run in the store (ranks' F-ordered blocks) and the same data as one NetCDF file."""
    import xarray as xr

    rng = np.random.default_rng(0)
    width = NX // RANKS
    x = np.arange(NX, dtype=np.float64) * 25.0
    time_of = np.arange(steps) * 0.5
    fields = {v: rng.random((steps, NZ, NX)) for v in variables}
    for step in range(steps):
        for rank in range(RANKS):
            part = slice(rank * width, (rank + 1) * width)
            coords: dict[str, Any] = {"time": float(time_of[step])}
            if lists:
                coords["x"] = x[part].tolist()
            for var, data in fields.items():
                block = np.asfortranarray(data[step, :, part].T)  # Fortran's u(nx_local, nz)
                client.put_tensor(
                    f"rank{rank}/{var}_{step}",
                    block,
                    dims=("x", "z"),
                    attrs={"units": "m/s"},
                    coords=coords,
                    block={"shape": (NX, NZ), "start": (rank * width, 0)},
                )
    data_vars = {v: (("step", "z", "x"), a, {"units": "m/s"}) for v, a in fields.items()}
    coords_nc: dict[str, Any] = {"step": np.arange(steps), "time": ("step", time_of)}
    if lists:
        coords_nc["x"] = x
    xr.Dataset(data_vars, coords=coords_nc).to_netcdf(path, engine="netcdf4")


def phases(client: Any, repeat: int) -> dict[str, float]:
    """Median ms of each phase of one simdask open."""
    from simdask.bridge.catalog import Catalog
    from simdask.bridge.dataset import layout_of, to_xarray

    catalog = Catalog(client, TEMPLATE)
    entries = catalog.require()
    layout = layout_of(catalog, entries, concat=None, chunks=None, missing="raise", name=None)
    steps: dict[str, Callable[[], Any]] = {
        "catalog": lambda: Catalog(client, TEMPLATE).require(),
        "layout": lambda: layout_of(catalog, entries, concat=None, chunks=None, missing="raise", name=None),
        "to_xarray": lambda: to_xarray(layout, client),
    }
    return {name: statistics.median(per_call(fn) for _ in range(repeat)) * 1e3 for name, fn in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--steps", type=int, default=26)
    parser.add_argument("--vars", type=int, default=3, choices=range(1, len(VARIABLES) + 1))
    parser.add_argument("--lists", action="store_true", help="blocks carry their part of the x coordinate")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    import xarray as xr

    import simdask

    variables = VARIABLES[: args.vars]
    with simdask.Store() as store, tempfile.TemporaryDirectory() as tmp:
        client = simdask.Client(store.address)
        path = Path(tmp) / "run.nc"
        write_run(client, path, args.steps, variables, args.lists)

        def netcdf() -> None:
            xr.open_dataset(path, engine="netcdf4").close()

        contenders: dict[str, Callable[[], Any]] = {
            "simdask": lambda: simdask.open_dataset(TEMPLATE, client),
            "simdask_address": lambda: simdask.open_dataset(TEMPLATE, store.address),
            "netcdf": netcdf,
        }
        opened = simdask.open_dataset(TEMPLATE, client)
        reference = xr.open_dataset(path, engine="netcdf4")
        assert opened.sizes == reference.sizes and sorted(opened.data_vars) == sorted(reference.data_vars)
        np.testing.assert_array_equal(opened.u[3, :, 390:410].values, reference.u[3, :, 390:410].values)
        reference.close()
        mb = sum(v.nbytes for v in opened.data_vars.values()) / 1e6
        print(f"run: {len(variables)} variables x {args.steps} steps x {RANKS} ranks of {NZ}x{NX} ({mb:.0f} MB)")
        for fn in contenders.values():  # warm-up: imports, connections, page cache
            fn()
        rows = []
        for i in range(args.repeat):
            times: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(ROUNDS):  # interleaved single opens: a stall of the machine hits one sample, not a repeat
                for name, fn in contenders.items():
                    start = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - start)
            row = {name: statistics.median(t) * 1e3 for name, t in times.items()}
            row["ratio"] = row["simdask"] / row["netcdf"]
            row["ratio_address"] = row["simdask_address"] / row["netcdf"]
            rows.append(row)
            print(
                f"repeat {i}: simdask {row['simdask']:6.2f} ms  with address {row['simdask_address']:6.2f} ms  "
                f"netcdf {row['netcdf']:6.2f} ms  ratio {row['ratio']:.2f}x ({row['ratio_address']:.2f}x)"
            )
        ratios = [r["ratio"] for r in rows]
        address = [r["ratio_address"] for r in rows]
        print(
            f"simdask / netcdf: median {statistics.median(ratios):.2f}x (spread {min(ratios):.2f}-{max(ratios):.2f}); "
            f"with address {statistics.median(address):.2f}x ({min(address):.2f}-{max(address):.2f})"
        )
        parts = phases(client, 5)
        print("simdask phases (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()))
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": None}, "rows": rows, "phases": parts}))


if __name__ == "__main__":
    main()
