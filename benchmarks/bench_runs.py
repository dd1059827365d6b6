"""Runs (issue 10): what the run bookkeeping costs on the data path, as ratios within one run.

- put 1 MiB: ``client.put_tensor`` of a 1 MiB float64 array in a loop, by a
  client outside any run (plain keys) and by a client writing in a run
  (``begin_run``: run-scoped keys, a heartbeat at most every quarter
  lease). Contenders alternate, one batch each per repeat; median per put.
- open 10,000 keys: ``simdask.open_dataset("u.step{step:d}")`` over N small
  tensors (8x8 float64) of a group without runs and of a run of another
  group (``run=None``: the current run is looked up, one extra round trip).
Target: runs cost at most 5 % (ratio <= 1.05) on both, standalone store.

Usage::

    python benchmarks/bench_runs.py [--puts 400] [--keys 10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import simdask


def _time_puts(client: simdask.Client, array: np.ndarray, count: int) -> float:
    began = time.perf_counter()
    for i in range(count):
        client.put_tensor(f"p{i % 8}", array)
    return (time.perf_counter() - began) / count


def _fill(client: simdask.Client, keys: int) -> None:
    block = np.ones((8, 8))
    for start in range(0, keys, 1000):
        client.put_tensors({f"u.step{i}": block for i in range(start, min(keys, start + 1000))})


def _time_open(address: str, keys: int, prefix: str) -> float:
    os.environ["SIMDASK_KEY_PREFIXES_IN"] = prefix
    try:
        with simdask.Client(address) as reader:
            began = time.perf_counter()
            dataset = simdask.open_dataset("u.step{step:d}", reader)
            elapsed = time.perf_counter() - began
    finally:
        del os.environ["SIMDASK_KEY_PREFIXES_IN"]
    assert dataset.sizes["step"] == keys
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puts", type=int, default=400, help="puts per batch")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    array = np.random.default_rng(0).random(1 << 17)  # 1 MiB
    with simdask.Store() as store:
        os.environ["SIMDASK_KEY_PREFIX"] = "plain"
        plain = simdask.Client(store.address)
        os.environ["SIMDASK_KEY_PREFIX"] = "inrun"
        inrun = simdask.Client(store.address)
        del os.environ["SIMDASK_KEY_PREFIX"]
        inrun.begin_run()
        samples: dict[str, list[float]] = {"plain": [], "run": []}
        _time_puts(plain, array, 20), _time_puts(inrun, array, 20)  # warm-up
        for _ in range(args.repeat):
            samples["plain"].append(_time_puts(plain, array, args.puts))
            samples["run"].append(_time_puts(inrun, array, args.puts))
        put_plain, put_run = statistics.median(samples["plain"]), statistics.median(samples["run"])

        _fill(plain, args.keys)
        _fill(inrun, args.keys)
        opens: dict[str, list[float]] = {"plain": [], "run": []}
        _time_open(store.address, args.keys, "plain"), _time_open(store.address, args.keys, "inrun")
        for _ in range(args.repeat):
            opens["plain"].append(_time_open(store.address, args.keys, "plain"))
            opens["run"].append(_time_open(store.address, args.keys, "inrun"))
        open_plain, open_run = statistics.median(opens["plain"]), statistics.median(opens["run"])
        inrun.close()
    print(f"{'case':28} {'no run':>10} {'in a run':>10} {'ratio':>7}")
    print(f"{'put 1 MiB (ms per put)':28} {put_plain * 1e3:10.3f} {put_run * 1e3:10.3f} {put_run / put_plain:7.3f}")
    print(
        f"{f'open {args.keys} keys (ms)':28} {open_plain * 1e3:10.1f} {open_run * 1e3:10.1f} {open_run / open_plain:7.3f}"
    )


if __name__ == "__main__":
    main()
