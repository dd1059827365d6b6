"""GPU check of the inference service (issues 5 and 14): model placement and batched throughput on a GPU worker.

In one go (a minute or two): start a store and a Dask ``LocalCluster`` whose
worker declares ``resources={"GPU": 1}``, store an MLP with ``device="GPU"``
(and the same MLP with ``device="CPU"``), serve them with an
``InferenceServer``, and report

- placement: the worker that serves each model, its node, what the worker
  sees (``torch.cuda.is_available()``, the device), the device the serving
  loop loaded the model on and the device of the model's parameters (read in
  the worker process from its serving loop), and the store's per-device
  request counts;
- throughput: rows/s of concurrent caller processes sending ``--rows`` rows
  per request (the loop joins pending requests into batches), as a ratio to
  the in-process call on the same device in this process (host -> device
  copy, model, device -> host copy, like the loop; one CPU thread, like a
  Dask worker), at the request's rows and at a full batch (``--callers`` x
  ``--rows`` rows).

Run on a GPU machine::

    python benchmarks/gpu_check.py [--callers 16] [--per-caller 200] [--rows 8] [--width 512]

Without a GPU it stops at once with a message saying so (exit status 1).
``--cpu-smoke`` runs the same path with CUDA hidden (``CUDA_VISIBLE_DEVICES=""``),
so the GPU-declared model runs on the CPU of its GPU-resource worker; it checks
the script, not GPUs. Every wait is bounded (``--timeout`` seconds).
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from distributed import Client as DaskClient
from distributed import LocalCluster

import simdask
from simdask.locality import node_name


def fail(message: str) -> None:
    """Stop the check with a clear message (exit status 1)."""
    raise SystemExit(f"gpu_check: {message}")


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


def worker_probe() -> dict[str, Any]:
    """What a Dask worker sees: its address, node, and CUDA."""
    from distributed import get_worker

    cuda = torch.cuda.is_available()
    return {
        "worker": get_worker().address,
        "node": node_name(),
        "cuda_available": cuda,
        "device_count": torch.cuda.device_count() if cuda else 0,
        "device_name": torch.cuda.get_device_name(0) if cuda else "",
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }


def loaded_models() -> list[dict[str, Any]]:
    """The models the serving loops of this worker process hold, and where their parameters are.

    Read from the loops' own runner caches (private attributes of
    ``simdask.inference.loop.ServingLoop``: the one place that shows where the
    loop really put a model).
    """
    from simdask.inference.loop import ServingLoop

    found = []
    for loop in (obj for obj in gc.get_objects() if isinstance(obj, ServingLoop)):
        for (kind, name), (_, runner) in loop._runners.items():
            module = getattr(runner, "_module", None)
            params = sorted({str(p.device) for p in module.parameters()}) if module is not None else []
            found.append(
                {
                    "model": f"{kind}:{name}",
                    "loop": loop.settings.consumer,
                    "gpu_loop": loop.settings.gpu,
                    "worker": loop.worker,
                    "loaded_on": runner.device,
                    "parameter_devices": params,
                }
            )
    return found


def in_process_rate(model: torch.jit.ScriptModule, device: torch.device, rows: int, width: int, calls: int) -> float:
    """Rows/s of the model called in this process on ``device``, copies in and out included (as the loop does)."""
    x = np.random.default_rng(0).random((rows, width), dtype=np.float32)
    with torch.inference_mode():
        model(torch.from_numpy(x).to(device)).cpu().numpy()  # warm-up
        times = []
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(calls):
                model(torch.from_numpy(x).to(device)).cpu().numpy()
            times.append(time.perf_counter() - start)
    return calls * rows / statistics.median(times)


def caller(address: str, model: str, index: int, count: int, rows: int, width: int, barrier: Any, wait: float) -> None:
    client = simdask.Client(address)
    client.put_tensor(f"x{index}", np.random.default_rng(index).random((rows, width), dtype=np.float32))
    barrier.wait(wait)
    for _ in range(count):
        client.run_model(model, [f"x{index}"], [f"y{index}"], timeout=wait)
    client.close()


@dataclass
class Pools:
    """The caller processes, forked before this process touches CUDA or starts Dask's threads."""

    manager: Any
    pool: Any
    callers: int


def throughput(pools: Pools, address: str, model: str, per_caller: int, rows: int, width: int, wait: float) -> float:
    """Rows/s of the pool's caller processes each sending ``per_caller`` requests of ``rows`` rows."""
    barrier = pools.manager.Barrier(pools.callers + 1)
    args = [(address, model, i, per_caller, rows, width, barrier, wait) for i in range(pools.callers)]
    jobs = [pools.pool.apply_async(caller, a) for a in args]
    barrier.wait(wait)
    start = time.perf_counter()
    deadline = start + wait
    for job in jobs:
        job.get(timeout=max(1.0, deadline - time.perf_counter()))
    return pools.callers * per_caller * rows / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true", help="CUDA hidden: the same path on the CPU (no figures)")
    parser.add_argument("--callers", type=int, help="caller processes (default 16; 4 with --cpu-smoke)")
    parser.add_argument("--per-caller", type=int, help="requests per caller (default 200; 25 with --cpu-smoke)")
    parser.add_argument("--rows", type=int, default=8, help="rows per request")
    parser.add_argument("--width", type=int, help="MLP width (default 512; 256 with --cpu-smoke)")
    parser.add_argument("--timeout", type=float, default=120.0, help="bound of every wait, seconds")
    args = parser.parse_args()
    smoke = args.cpu_smoke
    callers = args.callers or (4 if smoke else 16)
    per_caller = args.per_caller or (25 if smoke else 200)
    width = args.width or (256 if smoke else 512)
    wait = args.timeout
    if smoke:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before CUDA is first touched here; the workers inherit it
        print("== CPU SMOKE MODE: CUDA hidden, the GPU-declared model runs on the CPU; no GPU figures ==")
    ctx = multiprocessing.get_context("fork")
    with ctx.Manager() as manager, ctx.Pool(callers) as pool:
        check(Pools(manager, pool, callers), smoke, per_caller, args.rows, width, wait)


def check(pools: Pools, smoke: bool, per_caller: int, rows: int, width: int, wait: float) -> None:
    """The check itself (see the module's docstring); stops with :func:`fail` on what it finds wrong."""
    callers = pools.callers
    cuda_here = torch.cuda.is_available()
    print(
        f"torch {torch.__version__}, CUDA available here: {cuda_here}"
        + (f" ({torch.cuda.get_device_name(0)})" if cuda_here else "")
    )
    if not smoke and not cuda_here:
        fail(
            "no CUDA device is visible to this process (torch.cuda.is_available() is False"
            + ("" if torch.version.cuda else f"; torch {torch.__version__} is a build without CUDA")
            + "), so there is no GPU to check; run it on a GPU machine, or "
            "`python benchmarks/gpu_check.py --cpu-smoke` to check the script on the CPU"
        )
    device = torch.device("cpu") if smoke else torch.device("cuda", 0)
    torch.set_num_threads(1)  # as the serving loop's worker: distributed starts workers with OMP_NUM_THREADS=1
    model = make_model(width)
    devices = {"mlp_gpu": device, "mlp_cpu": torch.device("cpu")}
    in_process = {  # rows/s at one request's rows, and at a full batch of every caller's request
        name: (
            in_process_rate(make_model(width).to(d), d, rows, width, 200),
            in_process_rate(make_model(width).to(d), d, callers * rows, width, 50),
        )
        for name, d in devices.items()
    }

    with (
        simdask.Store() as store,
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            resources={"GPU": 1},
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
        ) as cluster,
        DaskClient(cluster) as dask_client,
    ):
        probe = dask_client.submit(worker_probe, pure=False).result(timeout=wait)
        print(f"worker {probe['worker']} on node {probe['node']}: resources GPU=1, CUDA {probe['cuda_available']}")
        if not smoke and not probe["cuda_available"]:
            fail(
                f"the Dask worker {probe['worker']} sees no CUDA device (CUDA_VISIBLE_DEVICES="
                f"{probe['CUDA_VISIBLE_DEVICES']!r}), though this process does"
            )
        client = simdask.Client(store.address)
        for name, declared in (("mlp_gpu", "GPU"), ("mlp_cpu", "CPU")):
            client.set_model(name, model, "TORCH", device=declared, batch_size=256)
        with simdask.InferenceServer(store.address, dask_client):
            x = np.random.default_rng(0).random((rows, width), dtype=np.float32)
            client.put_tensor("x", x)
            for name in ("mlp_gpu", "mlp_cpu"):  # loads each model in the serving loop
                client.run_model(name, ["x"], ["y"], timeout=wait)
            with torch.no_grad():
                expected = model(torch.from_numpy(x)).numpy()
            client.run_model("mlp_gpu", ["x"], ["y"], timeout=wait)
            error = float(np.abs(client.get_tensor("y") - expected).max())
            placement = dask_client.submit(loaded_models, pure=False).result(timeout=wait)
            rates = {
                name: throughput(pools, store.address, name, per_caller, rows, width, wait)
                for name in ("mlp_gpu", "mlp_cpu")
            }
            stats = client.redis().hgetall("simdask:inference:stats")
        client.close()

    print(f"max |served mlp_gpu result - in-process CPU result| = {error:.2e}")
    print("placement (read in the worker process from its serving loop):")
    for p in placement:
        print(
            f"  {p['model']}: loop {p['loop']} (GPU loop: {p['gpu_loop']}) on worker {p['worker']}, "
            f"loaded on {p['loaded_on']}, parameters on {', '.join(p['parameter_devices'])}"
        )
    print("served requests (model | device | worker: count), from the store's statistics:")
    for field, count in sorted(stats.items()):
        text = field.decode()
        print(f"  {'model executions ' + text[5:] if text.startswith('runs|') else text}: {int(count)}")
    for name, (at_request, at_batch) in in_process.items():
        print(
            f"in-process on {devices[name]} (baseline of {name}, one thread): {at_request:,.0f} rows/s at "
            f"{rows} rows per call, {at_batch:,.0f} rows/s at {callers * rows} (a batch of every caller)"
        )
    print(f"{callers} callers x {per_caller} requests of {rows} rows, MLP width {width}:")
    for name, rate in rates.items():
        print(
            f"  {name}: {rate:,.0f} rows/s = {rate / in_process[name][0]:.2f}x in-process at {rows} rows, "
            f"{rate / in_process[name][1]:.2f}x at {callers * rows} rows"
        )
    gpu_devices = {
        d for p in placement if p["model"] == "model:mlp_gpu" for d in [p["loaded_on"], *p["parameter_devices"]]
    }
    if not gpu_devices:
        fail("no serving loop reported holding mlp_gpu")
    if not smoke and not all(d.startswith("cuda") for d in gpu_devices):
        fail(f"mlp_gpu was declared for the GPU but its serving loop holds it on {sorted(gpu_devices)}")
    print("== CPU SMOKE MODE: passed; the GPU figures are still to be taken on a GPU machine ==" if smoke else "ok")


if __name__ == "__main__":
    main()
