"""SmartRedis drop-in (issue 12): what the compatibility layer costs, and run_model's failure with no service.

- put / get: ``smartredis.Client.put_tensor`` / ``get_tensor`` of a float64
  array against ``simdask.Client``'s same calls on the same store (1 KiB,
  1 MiB, 16 MiB); the two alternate one batch each per repeat; median per call.
  The layer checks argument types and translates names, so its cost is a
  constant per call: visible at 1 KiB, nothing at 16 MiB.
- run_model with no serving loop: how long the call takes to fail (it used to
  wait out its 60 s timeout), from Python (``smartredis.Client``).
Target: ratio <= 1.10 at 1 MiB and above.

Usage::

    python benchmarks/bench_smartredis.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import numpy as np
import smartredis

import simdask

SIZES = {"1 KiB": 128, "1 MiB": 128 * 1024, "16 MiB": 2 * 1024 * 1024}


def _per_call(action: Callable[[int], object], count: int) -> float:
    began = time.perf_counter()
    for i in range(count):
        action(i)
    return (time.perf_counter() - began) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with simdask.Store() as store:
        os.environ["SSDB"] = store.address
        core = simdask.Client(store.address)
        compat = smartredis.Client(logger_name="bench")
        print(f"{'case':16} {'simdask ms':>11} {'smartredis ms':>14} {'ratio':>6}")
        for label, n in SIZES.items():
            array = np.random.default_rng(0).random(n)
            count = max(5, min(2000, (64 << 20) // array.nbytes))
            contenders: dict[str, dict[str, Callable[[int], object]]] = {
                "put": {
                    "simdask": lambda i: core.put_tensor(f"c{i % 4}", array),
                    "smartredis": lambda i: compat.put_tensor(f"s{i % 4}", array),
                },
                "get": {
                    "simdask": lambda i: core.get_tensor(f"c{i % 4}"),
                    "smartredis": lambda i: compat.get_tensor(f"s{i % 4}"),
                },
            }
            for op, calls in contenders.items():
                times: dict[str, list[float]] = {name: [] for name in calls}
                for _ in range(args.repeat):
                    for name, call in calls.items():
                        times[name].append(_per_call(call, count))
                ours, theirs = (statistics.median(times[name]) * 1e3 for name in ("simdask", "smartredis"))
                print(f"{op + ' ' + label:16} {ours:11.4f} {theirs:14.4f} {theirs / ours:6.2f}")
        compat.put_tensor("x", np.ones(4, np.float32))
        fails = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            try:
                compat.run_model("nobody_serves", ["x"], ["y"])
            except smartredis.error.RedisRuntimeError:
                fails.append(time.perf_counter() - began)
        print(f"run_model with no serving loop fails in {statistics.median(fails) * 1e3:.2f} ms (median)")


if __name__ == "__main__":
    main()
