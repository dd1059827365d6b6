"""run_model latency and throughput against calling the same model in-process (issue 5).

Measures, in one run on one store and one Dask cluster:

- in-process latency of a 64-128-64 MLP at batch 1 (TorchScript, and ONNX);
- ``run_model`` round trip (inputs already in the store) and the full
  put -> run_model -> get cycle, p50 and p99, through one serving loop;
- throughput with N concurrent callers (separate processes, like simulation
  ranks) with batching off (``batch_size=0``: every request runs alone) and on
  (``batch_size=64``: the loop joins what is pending).

Run: python benchmarks/bench_inference.py [--requests 2000] [--callers 32] [--per-caller 100]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import time

import numpy as np
import torch
from distributed import Client as DaskClient
from distributed import LocalCluster

import simdask


class MLP(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(64, 128)
        self.l2 = torch.nn.Linear(128, 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.l1(x)))


def percentiles(samples: list[float]) -> tuple[float, float]:
    return float(np.percentile(samples, 50) * 1e6), float(np.percentile(samples, 99) * 1e6)


def timed(action, count: int) -> list[float]:
    action()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def caller(address: str, model: str, index: int, count: int, barrier) -> float:
    client = simdask.Client(address)
    x = np.random.default_rng(index).random((1, 64), dtype=np.float32)
    client.put_tensor(f"x{index}", x)
    barrier.wait()
    start = time.perf_counter()
    for _ in range(count):
        client.run_model(model, [f"x{index}"], [f"y{index}"])
    return time.perf_counter() - start


def throughput(address: str, model: str, callers: int, per_caller: int) -> float:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(callers + 1)
    with ctx.Pool(callers) as pool:
        results = [pool.apply_async(caller, (address, model, i, per_caller, barrier)) for i in range(callers)]
        barrier.wait()
        start = time.perf_counter()
        for r in results:
            r.get(timeout=600)
        wall = time.perf_counter() - start
    return callers * per_caller / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="samples for the latency figures")
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--per-caller", type=int, default=100)
    args = parser.parse_args()

    torch.set_num_threads(1)
    model = MLP().eval()
    scripted = torch.jit.script(model)
    x = np.random.default_rng(0).random((1, 64), dtype=np.float32)
    tensor = torch.from_numpy(x)
    with torch.inference_mode():
        in_torch = timed(lambda: scripted(tensor), args.requests)
    buffer = io.BytesIO()
    torch.onnx.export(
        model,
        (torch.zeros(2, 64),),
        buffer,
        input_names=["x"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
        external_data=False,
    )
    import onnxruntime

    session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    in_onnx = timed(lambda: session.run(None, {"x": x}), args.requests)

    with (
        simdask.Store() as store,
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address="127.0.0.1:0", host="127.0.0.1") as cluster,
        DaskClient(cluster) as dask_client,
    ):
        client = simdask.Client(store.address)
        client.set_model("mlp", scripted, "TORCH")
        client.set_model("mlp_onnx", buffer.getvalue(), "ONNX")
        client.set_model("mlp_batched", scripted, "TORCH", batch_size=64)
        client.put_tensor("x", x)
        with simdask.InferenceServer(store.address, dask_client):
            rt_torch = timed(lambda: client.run_model("mlp", ["x"], ["y"]), args.requests)
            rt_onnx = timed(lambda: client.run_model("mlp_onnx", ["x"], ["y"]), args.requests)

            def cycle() -> None:
                client.put_tensor("x", x)
                client.run_model("mlp", ["x"], ["y"])
                client.get_tensor("y")

            rt_cycle = timed(cycle, args.requests)
            unbatched = throughput(store.address, "mlp", args.callers, args.per_caller)
            batched = throughput(store.address, "mlp_batched", args.callers, args.per_caller)
            stats = {k.decode(): int(v) for k, v in client.redis().hgetall("simdask:inference:stats").items()}

    rows = [
        ("TorchScript in-process", in_torch, None),
        ("ONNX Runtime in-process", in_onnx, None),
        ("run_model TorchScript (inputs in store)", rt_torch, in_torch),
        ("run_model ONNX (inputs in store)", rt_onnx, in_onnx),
        ("put + run_model + get, TorchScript", rt_cycle, in_torch),
    ]
    print("| call, batch 1 | p50 µs | p99 µs | p50 above in-process µs |")
    print("| --- | ---: | ---: | ---: |")
    for label, samples, base in rows:
        p50, p99 = percentiles(samples)
        above = f"{p50 - percentiles(base)[0]:,.0f}" if base is not None else ""
        print(f"| {label} | {p50:,.0f} | {p99:,.0f} | {above} |")
    runs_batched = stats.get("runs|model:mlp_batched", 0)
    runs_unbatched = stats.get("runs|model:mlp", 0) - 2 * (args.requests + 1)  # minus the latency runs
    requests_batched = args.callers * args.per_caller
    print()
    print(f"| {args.callers} concurrent callers x {args.per_caller} run_model | requests/s | model runs |")
    print("| --- | ---: | ---: |")
    print(f"| batching off (batch_size=0) | {unbatched:,.0f} | {runs_unbatched:,} |")
    print(f"| batching on (batch_size=64) | {batched:,.0f} | {runs_batched:,} for {requests_batched:,} requests |")
    print(f"\nbatching on / off: {batched / unbatched:.1f}x")


if __name__ == "__main__":
    main()
