"""Long runs (issue 14, part 6): ``open_dataset`` over a million keys, and ``watch`` over 10,000 steps.

``open``: ``simdask.open_dataset`` of N small tensors (4x4 float64) on a
standalone store and on a 3-shard cluster, for N in ``--keys`` (default 10,000,
100,000 and 1,000,000), through two templates: ``u.step{step:d}`` (N steps)
and ``rank{rank:d}/u_{step:d}`` (4 ranks x N/4 steps). The keys are written
with pipelined ``SET`` of one encoded tensor (fast to fill; the values are
real tensors). Each open runs in a fresh child process, which reports the
time of each phase (catalog: streaming SCAN and batched header reads;
layout; to_xarray: dask graph and Dataset), the whole open, and its peak
memory (``ru_maxrss`` after minus before the open). Figures are per key
(microseconds and bytes), so that linear scaling reads as a constant.

``watch``: ``simdask.watch`` of a run written step by step in this process:
each step is written (``--keys-per-step`` tensors), then the next Dataset is
taken from the watch (the previous step, complete now that a later one has
begun) with ``interval=0``, so that the time of that ``next()`` is the watch's
own cost for one step (poll, header reads, layout, Dataset). With
``--keep N`` the writer deletes each step N steps after writing it, as a
simulation that keeps only its last N steps does. Printed: the median
per-step cost around steps ~100, 1,000, 5,000 and 10,000 (a window of 50 steps
each), their ratio to the first window (target ~1.0: a constant per-step
cost), and the process's peak memory growth (``ru_maxrss``) and the Python
memory allocated by simdask's own code and still held (``tracemalloc``) at each
point.

Usage::

    python benchmarks/bench_long_runs.py watch [--steps 10000] [--keep 0] [--keys-per-step 2]
    python benchmarks/bench_long_runs.py open [--keys 10000 100000 1000000] [--kinds standalone cluster]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

RANKS = 4
TEMPLATES = {"steps": "u.step{step:d}", "ranks": "rank{rank:d}/u_{step:d}"}
WINDOW = 50  # steps per measuring point of the watch


def peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -- watch ----------------------------------------------------------------------------------------------------------


def bench_watch(steps: int, keep: int, per_step: int) -> dict[str, Any]:
    import simdask

    points = sorted({p for p in (100, 1000, 5000, 10000) if p + WINDOW <= steps} | {steps - WINDOW})
    times: list[float] = []
    memory: dict[int, tuple[int, int]] = {}
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        tensor = np.zeros((4, 4))
        names = [f"v{i}" for i in range(per_step)]

        def write(step: int) -> None:
            client.put_tensors({f"{name}.step{step}": tensor for name in names})
            if keep and step >= keep:
                for name in names:
                    client.delete_tensor(f"{name}.step{step - keep}")

        write(0)
        stream = simdask.watch("{var}.step{step:d}", client, interval=0, timeout=60, progress=False)
        write(1)
        next(stream)  # warm-up: imports
        times.append(0.0)
        tracemalloc.start()
        base_rss = peak_rss()
        for step in range(2, steps + 1):
            write(step)
            start = time.perf_counter()
            ds = next(stream)
            times.append(time.perf_counter() - start)
            assert int(ds.step[0]) == step - 1, (int(ds.step[0]), step)
            if step in points or step == steps:
                ours = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*/simdask/*")])
                memory[step] = (peak_rss() - base_rss, sum(t.size for t in ours.traces))
        tracemalloc.stop()
        stream.close()
    first = statistics.median(times[10 : 10 + WINDOW])  # the first window, after a few warm-up steps
    rows = []
    for point in points:
        window = times[point : point + WINDOW]
        cost = statistics.median(window)
        mem = memory.get(point, (0, 0))
        rows.append({"step": point, "ms": cost * 1e3, "ratio": cost / first, "rss_growth": mem[0], "traced": mem[1]})
        print(
            f"watch steps {point:6d}-{point + WINDOW:6d}: {cost * 1e3:6.2f} ms/step, {cost / first:5.2f}x the first "
            f"window; peak RSS +{mem[0] / 1e6:6.1f} MB, held by simdask's code {mem[1] / 1e3:6.1f} kB"
        )
    return {"steps": steps, "keep": keep, "per_step": per_step, "first_ms": first * 1e3, "rows": rows}


# -- open over many keys --------------------------------------------------------------------------------------------

CHILD = r"""
import json, resource, sys, time
import simdask
from simdask.bridge.catalog import Catalog
from simdask.bridge.dataset import layout_of, to_xarray

address, template, expected, chunks = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
client = simdask.Client(address)
import dask.array, xarray  # imports outside the figures
from simdask.bridge.gcpause import gc_paused
before = rss()
with gc_paused():  # the phases of open_dataset, as it runs them
    start = time.perf_counter()
    catalog = Catalog(client, template)
    entries = catalog.require()
    scanned = time.perf_counter()
    layout = layout_of(catalog, entries, concat=None, chunks=chunks, missing="raise", name="u")
    laid = time.perf_counter()
    ds = to_xarray(layout, client)
    done = time.perf_counter()
assert len(entries) == expected and ds.u.size == expected * 16, (len(entries), ds.u.shape)
print(json.dumps({"catalog": scanned - start, "layout": laid - scanned, "to_xarray": done - laid,
                  "open": done - start, "memory": rss() - before}))
"""


def fill(client: Any, keys: list[str]) -> None:
    """Write one encoded 4x4 float64 tensor under every key, pipelined (``SET``: the value is a whole tensor)."""
    from simdask.protocol import tensors
    from simdask.transport import Request

    session = client.session
    encoded = tensors.encode_tensor(session, "u", np.zeros((4, 4)))
    value = b"".join(bytes(part) for part in encoded.head)
    for i in range(0, len(keys), 20_000):
        session.transport.run([Request(k, [("SET", k, value)]) for k in keys[i : i + 20_000]])


def bench_open(counts: list[int], kinds: list[str], chunks: Any) -> list[dict[str, Any]]:
    import simdask

    rows = []
    for kind in kinds:
        for name, template in TEMPLATES.items():
            with simdask.Store(kind) as store:
                client = simdask.Client(store.address)
                written = 0
                for n in sorted(counts):
                    if name == "steps":
                        keys = [f"u.step{s}" for s in range(written, n)]
                    else:
                        keys = [f"rank{r}/u_{s}" for s in range(written // RANKS, n // RANKS) for r in range(RANKS)]
                    fill(client, keys)
                    written = n
                    child = subprocess.run(
                        [sys.executable, "-c", CHILD, store.address, template, str(n), json.dumps(chunks)],
                        capture_output=True,
                        text=True,
                        timeout=1800,
                    )
                    if child.returncode:
                        raise RuntimeError(child.stderr[-3000:])
                    row = {"kind": kind, "template": template, "keys": n, "chunks": chunks, **json.loads(child.stdout)}
                    rows.append(row)
                    print(
                        f"open {kind:10s} {template:24s} {n:8d} keys: {row['open']:7.2f} s "
                        f"({row['open'] / n * 1e6:5.1f} us/key: catalog {row['catalog'] / n * 1e6:5.1f}, layout "
                        f"{row['layout'] / n * 1e6:5.1f}, to_xarray {row['to_xarray'] / n * 1e6:5.1f}); "
                        f"memory +{row['memory'] / 1e6:7.1f} MB ({row['memory'] / n:5.0f} B/key)",
                        flush=True,
                    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    watch = sub.add_parser("watch")
    watch.add_argument("--steps", type=int, default=10_000)
    watch.add_argument("--keep", type=int, default=0, help="delete each step this many steps later (0: never)")
    watch.add_argument("--keys-per-step", type=int, default=2)
    opening = sub.add_parser("open")
    opening.add_argument("--keys", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    opening.add_argument("--kinds", nargs="+", default=["standalone", "cluster"])
    opening.add_argument(
        "--chunks", default="auto", choices=["auto", "one"], help="open_dataset's chunks= (one: a key each)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.what == "watch":
        result: Any = bench_watch(args.steps, args.keep, args.keys_per_step)
    else:
        result = bench_open(args.keys, args.kinds, None if args.chunks == "one" else args.chunks)
    if args.json:
        args.json.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
