"""GPU check of the inference service, for a session lent a GPU machine (issue 5).

In one go (about a minute): start a store and a Dask LocalCluster whose
worker declares ``resources={"GPU": 1}`` and sees CUDA, store an MLP with
``device="GPU"``, run batched requests from concurrent callers, and print
the throughput and where the model ran (the serving loop's device and worker,
from the store's inference statistics), next to the same model on the CPU.

Run on the GPU machine: python benchmarks/gpu_check.py [--callers 16] [--per-caller 200]
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

import numpy as np
import torch
from distributed import Client as DaskClient
from distributed import LocalCluster

import simdask


def make_model(width: int) -> torch.jit.ScriptModule:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(width, 4 * width),
        torch.nn.ReLU(),
        torch.nn.Linear(4 * width, 4 * width),
        torch.nn.ReLU(),
        torch.nn.Linear(4 * width, width),
    ).eval()
    return torch.jit.script(model)


def caller(address: str, model: str, index: int, count: int, rows: int, width: int, barrier) -> float:
    client = simdask.Client(address)
    client.put_tensor(f"x{index}", np.random.default_rng(index).random((rows, width), dtype=np.float32))
    barrier.wait()
    start = time.perf_counter()
    for _ in range(count):
        client.run_model(model, [f"x{index}"], [f"y{index}"])
    return time.perf_counter() - start


def throughput(address: str, model: str, callers: int, per_caller: int, rows: int, width: int) -> float:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(callers + 1)
    with ctx.Pool(callers) as pool:
        jobs = [pool.apply_async(caller, (address, model, i, per_caller, rows, width, barrier)) for i in range(callers)]
        barrier.wait()
        start = time.perf_counter()
        for job in jobs:
            job.get(timeout=540)
        return callers * per_caller * rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--per-caller", type=int, default=200)
    parser.add_argument("--rows", type=int, default=8, help="rows per request")
    parser.add_argument("--width", type=int, default=512)
    args = parser.parse_args()

    print(
        f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}"
        + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "")
    )
    model = make_model(args.width)
    with (
        simdask.Store() as store,
        LocalCluster(
            n_workers=1, threads_per_worker=1, resources={"GPU": 1}, dashboard_address="127.0.0.1:0", host="127.0.0.1"
        ) as cluster,
        DaskClient(cluster) as dask_client,
    ):
        client = simdask.Client(store.address)
        for name, device in (("mlp_gpu", "GPU"), ("mlp_cpu", "CPU")):
            client.set_model(name, model, "TORCH", device=device, batch_size=256)
        with simdask.InferenceServer(store.address, dask_client):
            x = np.random.default_rng(0).random((args.rows, args.width), dtype=np.float32)
            client.put_tensor("x", x)
            client.run_model("mlp_gpu", ["x"], ["y"], timeout=120)  # loads the model on the GPU
            client.run_model("mlp_cpu", ["x"], ["y"], timeout=120)
            with torch.no_grad():
                expected = model(torch.from_numpy(x)).numpy()
            client.run_model("mlp_gpu", ["x"], ["y"])
            error = float(np.abs(client.get_tensor("y") - expected).max())
            rates = {
                name: throughput(store.address, name, args.callers, args.per_caller, args.rows, args.width)
                for name in ("mlp_gpu", "mlp_cpu")
            }
            stats = client.redis().hgetall("simdask:inference:stats")
    print(f"max |GPU result - in-process CPU result| = {error:.2e}")
    print(f"{args.callers} callers x {args.per_caller} requests of {args.rows} rows, MLP width {args.width}:")
    for name, rate in rates.items():
        print(f"  {name}: {rate:,.0f} rows/s")
    print("served (model | device | worker: requests):")
    for field, count in sorted(stats.items()):
        if not field.startswith(b"runs|"):
            print(f"  {field.decode()}: {int(count)}")
        else:
            print(f"  model executions {field.decode()[5:]}: {int(count)}")


if __name__ == "__main__":
    main()
