"""The xarray/Dask bridge (issue 4): open time, and a full reduction vs raw gets vs zarr on disk.

One run, figures compared as ratios within it (this machine is noisy):

- open: ``simdask.open_dataset("u.step{step:d}")`` over N small tensors
  (8x8 float64) on a standalone store and on a 3-shard cluster: SCAN,
  pipelined header reads, layout, dask graph, xarray Dataset. Target: 10,000
  keys in < 1 s.
- reduce: ``--gib`` GiB of float64 steps (``--step-mib`` MiB each) in a
  standalone store. Contenders, each timed ``--repeat`` times (median shown):
  (raw)  ``client.get_tensor`` of every key in a loop, in this process;
  (dask) ``open_dataset(...).u.mean().compute()`` on a 2-worker LocalCluster
         (processes, 1 thread each), with the default ``chunks="auto"`` (16
         keys of 8 MiB per task, dask's 128 MiB ``array.chunk-size``, read
         one 8 MiB key per round trip, the two workers taking turns per
         round: ``simdask/bridge/turns.py``); with ``chunks={}`` (one key per
         task, the default before issue 14); and, as a diagnostic,
         ``mean(skipna=False)``: xarray's default NaN-skipping mean makes a
         copy and a mask of every chunk, which costs about as much CPU as
         receiving it;
  (zarr) the same data copied with ``simdask.to_zarr`` (uncompressed) to a
         zarr v3 store on local disk, ``xarray.open_zarr(path).u.mean()`` on
         the same cluster (page cache warm).
  The contenders run round-robin, one sample each per repeat, after one
  warm-up each. Target: dask >= 0.5x raw. 1 GB = 1e9 bytes.

Usage::

    python benchmarks/bench_bridge.py [--gib 1] [--step-mib 8] [--repeat 3] [--keys 1000 10000] [--json PATH]
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

MIB = 1024 * 1024


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def bench_open(keys: list[int], repeat: int) -> list[dict[str, Any]]:
    import simdask

    rows = []
    for kind in ("standalone", "cluster"):
        with simdask.Store(kind) as store:
            client = simdask.Client(store.address)
            tensor = np.zeros((8, 8))
            written = 0
            for n in sorted(keys):
                client.put_tensors({f"u.step{i}": tensor for i in range(written, n)})
                written = n
                simdask.open_dataset("u.step{step:d}", client)  # warm-up: imports, connections
                seconds, ds = timed(lambda c=client: simdask.open_dataset("u.step{step:d}", c), repeat)
                assert ds.sizes["step"] == n
                rows.append({"kind": kind, "keys": n, "open_s": seconds})
                print(f"open  {kind:10s} {n:6d} keys: {seconds * 1000:7.1f} ms")
    return rows


def bench_reduce(gib: float, step_mib: int, repeat: int) -> dict[str, Any]:
    import xarray as xr
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    import simdask

    side = int((step_mib * MIB / 8) ** 0.5)
    steps = int(gib * 1024 / step_mib)
    nbytes = steps * side * side * 8
    out: dict[str, Any] = {"steps": steps, "step_shape": [side, side], "bytes": nbytes}
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        total = 0.0
        for s in range(steps):
            step = np.random.default_rng(s).random((side, side))
            total += float(step.sum())
            client.put_tensor(f"u.step{s}", step, dims=("y", "x"))
        expected = total / (steps * side * side)
        keys = [f"u.step{s}" for s in range(steps)]

        def raw() -> None:
            for key in keys:
                client.get_tensor(key)

        workdir = Path(tempfile.mkdtemp(prefix="bench-bridge-"))
        try:
            with (
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
                DaskClient(cluster),
            ):
                path = workdir / "steps.zarr"
                simdask.to_zarr("u.step{step:d}", path, client, encoding={"u": {"compressors": None}})
                grouped = simdask.open_dataset("u.step{step:d}", client)
                one = simdask.open_dataset("u.step{step:d}", client, chunks={})
                on_disk = xr.open_zarr(path)
                contenders: dict[str, Callable[[], Any]] = {
                    "raw": raw,
                    "dask": lambda: float(grouped.u.mean().compute()),
                    "dask_key_per_task": lambda: float(one.u.mean().compute()),
                    "dask_skipna_false": lambda: float(grouped.u.mean(skipna=False).compute()),
                    "zarr": lambda: float(on_disk.u.mean().compute()),
                }
                samples: dict[str, list[float]] = {label: [] for label in contenders}
                for label, run in contenders.items():  # warm-up: connections, imports, page cache
                    mean = run()
                    assert label == "raw" or abs(mean - expected) < 1e-9, (label, mean, expected)
                for _ in range(repeat):  # round-robin, so that the machine's noise hits every contender alike
                    for label, run in contenders.items():
                        seconds, _ = timed(run, 1)
                        samples[label].append(seconds)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    raw_rate = nbytes / statistics.median(samples["raw"]) / 1e9
    for label, times in samples.items():
        seconds = statistics.median(times)
        rate = nbytes / seconds / 1e9
        out.update({f"{label}_s": seconds, f"{label}_GBps": rate, f"{label}_vs_raw": rate / raw_rate})
        print(f"reduce {label:17s} {seconds:6.2f} s  {rate:5.2f} GB/s  {rate / raw_rate:4.2f}x raw")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="GiB of float64 steps to reduce")
    parser.add_argument("--step-mib", type=int, default=8, help="MiB per step (one key each)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keys", type=int, nargs="+", default=[1000, 10000], help="key counts to open")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    results = {"open": bench_open(args.keys, args.repeat), "reduce": bench_reduce(args.gib, args.step_mib, args.repeat)}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
