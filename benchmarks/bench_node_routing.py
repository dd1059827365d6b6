"""What routing run requests to the caller's node costs: run_model p50 routed vs the single stream (issue 14).

One store, one serving loop (``simdask serve --threads 1``, its own process)
on simulated node ``n0``, one caller in this process, a 64-128-64 MLP at
batch 1 (inputs already stored). Three ways to send the same request, taking
turns request by request (the first of each turn rotating), so that drift on a
noisy machine hits all alike:

- ``single stream``: ``EVAL SUBMIT 3``, the protocol before node routing (the baseline);
- ``routed``: a caller on ``n0``, ``EVAL SUBMIT 5``, to the loop's node stream;
- ``routed, no loop on the node``: a caller on ``n2``, ``EVAL SUBMIT 5``, to the main stream.

Prints p50 and p99 (us) of each and the ratio of each p50 to the baseline's.

Run: python benchmarks/bench_node_routing.py [--requests 3000] [--kind standalone|unix|cluster]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bench_inference import MLP  # the latency benchmark's model (benchmarks/ is the script's folder)

import simdask
from simdask import env
from simdask.protocol import RunRequest
from simdask.protocol.requests import loop_nodes, new_reply_key, run_request

MODES = {"single stream": "", "routed": "n0", "routed, no loop on the node": "n2"}


def start_loop(address: str) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("simdask")), "serve", "--threads", "1", "--name", "bench"]
    return subprocess.Popen(
        [*command, "--address", address], env={**os.environ, env.NODE: "n0"}, stdout=subprocess.DEVNULL
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per mode")
    parser.add_argument("--kind", default="standalone", choices=["standalone", "unix", "cluster"])
    args = parser.parse_args()
    with simdask.Store(kind=args.kind) as store:
        client = simdask.Client(store.address)
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(MLP().eval()), buffer)
        client.set_model("mlp", buffer.getvalue(), backend="TORCH")
        client.put_tensor("x", np.random.default_rng(0).random((1, 64), dtype=np.float32))
        loop = start_loop(store.address)
        try:
            deadline = time.monotonic() + 120
            while not loop_nodes(client.session, ["n0"])["n0"]:
                if time.monotonic() > deadline or loop.poll() is not None:
                    raise SystemExit("the serving loop did not start")
                time.sleep(0.05)
            samples: dict[str, list[float]] = {mode: [] for mode in MODES}

            def once(node: str) -> float:
                request = RunRequest("model", "mlp", ("x",), ("y",), new_reply_key())
                start = time.perf_counter()
                run_request(client.session, request, timeout=60, node=node)
                return time.perf_counter() - start

            for node in MODES.values():  # warm up: the model loaded, connections open
                for _ in range(50):
                    once(node)
            modes = list(MODES.items())
            for turn in range(args.requests):
                for mode, node in modes[turn % 3 :] + modes[: turn % 3]:
                    samples[mode].append(once(node))
        finally:
            loop.send_signal(signal.SIGTERM)
            loop.wait(timeout=60)
    base = float(np.percentile(samples["single stream"], 50))
    print(f"store {args.kind}, {args.requests} requests per mode")
    for mode, got in samples.items():
        p50, p99 = (float(np.percentile(got, q)) for q in (50, 99))
        print(f"{mode:30s} p50 {p50 * 1e6:8.1f} us  p99 {p99 * 1e6:8.1f} us  p50 ratio {p50 / base:.3f}")


if __name__ == "__main__":
    main()
