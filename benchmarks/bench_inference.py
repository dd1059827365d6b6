"""run_model latency and throughput against calling the same model in-process (issues 5 and 14).

Measures, in one run on one store and one Dask cluster:

- in-process latency of a 64-128-64 MLP at batch 1 (TorchScript, and ONNX);
- ``run_model`` round trip (inputs already in the store; also with two input
  keys in turn, which the loop's read-ahead never holds) and the full
  put -> run_model -> get cycle, p50 and p99, through one serving loop;
- where one request's time goes: the CPU time the caller, the serving loop's
  worker process and the store's server each spend per request (``run_model``
  of a batch-1 request, one at a time), against its p50; and the in-process
  call again after 0.5 ms idle between calls, as a serving loop calls it
  (woken by each request, with caches the other processes used meanwhile);
- throughput with N concurrent callers (separate processes, like simulation
  ranks) with batching off (``batch_size=0``: every request is read, run and
  answered alone) and on (``batch_size=64``: the loop joins what is pending),
  and the p50/p99 latency of each caller's calls meanwhile: Python callers
  (``run_model`` of an input put once) and C callers (``c_run_model.c``:
  ``sd_put_tensor`` + ``sd_run_model`` + ``sd_unpack_tensor`` per call),
  ``--rounds`` times, alternating off and on.

Run: python benchmarks/bench_inference.py [--requests 2000] [--callers 32] [--per-caller 100] [--rounds 3]
The C callers need gcc, cmake, pkg-config and libhiredis-dev (as bench_c_client.py); --no-c skips them.
"""

from __future__ import annotations

import argparse
import io
import itertools
import multiprocessing
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
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


def timed(action, count: int, idle_s: float = 0.0) -> list[float]:
    """``action``'s time over ``count`` calls after a first one, the thread sleeping ``idle_s`` before each."""
    action()
    samples = []
    for _ in range(count):
        if idle_s:
            time.sleep(idle_s)
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def cpu_per_call(action, count: int, processes: dict[str, psutil.Process]) -> dict[str, float]:
    """CPU µs per call of ``action`` (called ``count`` times in turn) in each process, and the calls' p50."""
    before = {name: cpu_seconds(p) for name, p in processes.items()}
    samples = timed(action, count)
    per_call = {name: (cpu_seconds(p) - before[name]) / (count + 1) * 1e6 for name, p in processes.items()}
    return {**per_call, "p50": percentiles(samples)[0]}


def caller(address: str, model: str, index: int, count: int, barrier) -> list[float]:
    client = simdask.Client(address)
    x = np.random.default_rng(index).random((1, 64), dtype=np.float32)
    client.put_tensor(f"x{index}", x)
    client.run_model(model, [f"x{index}"], [f"y{index}"])  # warm-up: before the others start
    barrier.wait()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        client.run_model(model, [f"x{index}"], [f"y{index}"])
        samples.append(time.perf_counter() - start)
    return samples


def throughput(address: str, model: str, callers: int, per_caller: int) -> tuple[float, float, float]:
    """Requests/s of ``callers`` Python processes (fork), and the p50/p99 (us) of their calls."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Manager().Barrier(callers + 1)
    with ctx.Pool(callers) as pool:
        results = [pool.apply_async(caller, (address, model, i, per_caller, barrier)) for i in range(callers)]
        barrier.wait()
        start = time.perf_counter()
        samples = [t for r in results for t in r.get(timeout=600)]
        wall = time.perf_counter() - start
    return (callers * per_caller / wall, *percentiles(samples))


def c_throughput(exe: Path, address: str, model: str, callers: int, per_caller: int) -> tuple[float, float, float]:
    """Requests/s of ``callers`` C processes (c_run_model.c), and the p50/p99 (us) of their put+run+get cycles."""
    out = subprocess.run([exe, address, model, str(callers), str(per_caller)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"c_run_model failed:\n{out.stdout}{out.stderr}")
    words = out.stdout.split()
    figures = {k: float(v) for k, v in zip(words[::2], words[1::2])}
    return figures["rps"], figures["cycle_p50_us"], figures["cycle_p99_us"]


def build_c_caller(build_dir: Path) -> Path:
    """The C caller, compiled against client_c as bench_c_client.py builds c_bench.c."""
    from bench_c_client import build

    return build(build_dir, "c_run_model.c")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="samples for the latency figures")
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--per-caller", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="throughput rounds (batching off, then on, each)")
    parser.add_argument("--no-c", action="store_true", help="skip the C callers")
    args = parser.parse_args()
    build_dir = tempfile.TemporaryDirectory()
    c_exe = None if args.no_c else build_c_caller(Path(build_dir.name))

    torch.set_num_threads(1)
    model = MLP().eval()
    scripted = torch.jit.script(model)
    x = np.random.default_rng(0).random((1, 64), dtype=np.float32)
    tensor = torch.from_numpy(x)
    with torch.inference_mode():
        in_torch = timed(lambda: scripted(tensor), args.requests)
        in_torch_idle = timed(lambda: scripted(tensor), args.requests, idle_s=0.0005)
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
        client.put_tensor("x_other", x)
        with simdask.InferenceServer(store.address, dask_client):
            rt_torch = timed(lambda: client.run_model("mlp", ["x"], ["y"]), args.requests)
            in_turn = itertools.cycle(["x", "x_other"])  # never the last request's input: read after the wake-up
            rt_miss = timed(lambda: client.run_model("mlp", [next(in_turn)], ["y"]), args.requests)
            rt_onnx = timed(lambda: client.run_model("mlp_onnx", ["x"], ["y"]), args.requests)

            def cycle() -> None:
                client.put_tensor("x", x)
                client.run_model("mlp", ["x"], ["y"])
                client.get_tensor("y")

            rt_cycle = timed(cycle, args.requests)
            worker_pid = next(iter(dask_client.run(os.getpid).values()))
            processes = {
                "caller": psutil.Process(),
                "loop": psutil.Process(worker_pid),
                "store": psutil.Process(store.servers[0].pid),
            }
            cpu = cpu_per_call(lambda: client.run_model("mlp", ["x"], ["y"]), args.requests, processes)
            runs_before = stats_of(client)
            loads: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
            for _ in range(args.rounds):
                for model in ("mlp", "mlp_batched"):
                    loads.setdefault(("Python", model), []).append(
                        throughput(store.address, model, args.callers, args.per_caller)
                    )
                    if c_exe is not None:
                        loads.setdefault(("C", model), []).append(
                            c_throughput(c_exe, store.address, model, args.callers, args.per_caller)
                        )
            stats = stats_of(client)
    build_dir.cleanup()

    rows = [
        ("TorchScript in-process", in_torch, None),
        ("TorchScript in-process, 0.5 ms idle before each call", in_torch_idle, None),
        ("ONNX Runtime in-process", in_onnx, None),
        ("run_model TorchScript (inputs in store)", rt_torch, in_torch),
        ("run_model TorchScript, two inputs in turn (no read-ahead)", rt_miss, in_torch),
        ("run_model ONNX (inputs in store)", rt_onnx, in_onnx),
        ("put + run_model + get, TorchScript", rt_cycle, in_torch),
    ]
    print("| call, batch 1 | p50 µs | p99 µs | p50 above in-process µs |")
    print("| --- | ---: | ---: | ---: |")
    for label, samples, base in rows:
        p50, p99 = percentiles(samples)
        above = f"{p50 - percentiles(base)[0]:,.0f}" if base is not None else ""
        print(f"| {label} | {p50:,.0f} | {p99:,.0f} | {above} |")
    print()
    print("CPU per run_model request (TorchScript, inputs in store), µs:")
    print()
    print("| caller | serving loop's worker | store | sum | p50 meanwhile |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    spent = cpu["caller"] + cpu["loop"] + cpu["store"]
    print(f"| {cpu['caller']:,.0f} | {cpu['loop']:,.0f} | {cpu['store']:,.0f} | {spent:,.0f} | {cpu['p50']:,.0f} |")
    runs = {m: stats.get(f"runs|model:{m}", 0) - runs_before.get(f"runs|model:{m}", 0) for m in ("mlp", "mlp_batched")}
    answered = {m: stats.get(f"answered|{m}", 0) - runs_before.get(f"answered|{m}", 0) for m in ("mlp", "mlp_batched")}
    print()
    print(f"{args.callers} concurrent callers x {args.per_caller} calls, {args.rounds} round(s): each round's figure")
    print()
    print("| callers | batching | requests/s | p50 µs | p99 µs | on / off |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for language in ("Python", "C"):
        if (language, "mlp") not in loads:
            continue
        off, on = loads[(language, "mlp")], loads[(language, "mlp_batched")]
        ratios = " / ".join(f"{b[0] / a[0]:.1f}x" for a, b in zip(off, on))
        for label, rows_, ratio in (("off (batch_size=0)", off, ""), ("on (batch_size=64)", on, ratios)):
            figures = [" / ".join(f"{row[i]:,.0f}" for row in rows_) for i in range(3)]
            print(f"| {language} | {label} | {' | '.join(figures)} | {ratio} |")
    print()
    print(
        f"model runs: batching off {runs['mlp']:,} for {answered['mlp']:,} requests, "
        f"on {runs['mlp_batched']:,} for {answered['mlp_batched']:,} requests"
    )


def stats_of(client: simdask.Client) -> dict[str, int]:
    """The serving loops' counters (``simdask:inference:stats``): ``runs|model:<name>`` model runs, and
    ``answered|<name>`` the requests answered (summed over devices and workers)."""
    raw = {k.decode(): int(v) for k, v in client.redis().hgetall("simdask:inference:stats").items()}
    for key, value in list(raw.items()):
        if key.startswith("model:"):
            name = key[len("model:") :].split("|")[0]
            raw[f"answered|{name}"] = raw.get(f"answered|{name}", 0) + value
    return raw


if __name__ == "__main__":
    main()
