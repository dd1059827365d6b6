"""Per-node figures for the scaling model of issue 14, as ratios within one run.

Measures on this machine, one store per section (all on loopback):

- transfer: ``put_tensor`` / ``get_tensor`` of 1 and 16 MiB float64 arrays
  against raw redis-py ``SET`` / ``GET`` of the same bytes (the baseline of
  ``bench_client.py``), round-robin, median of ``--repeat`` samples; and the
  store server's CPU seconds per GB moved (psutil on the valkey-server
  process, user + system, summed over the samples: its clock ticks are
  10 ms). With ``--c-build DIR``, also the C client (``c_bench.c``, built as
  ``bench_c_client.py`` does) against its bare-socket pipelined SET/GET of
  the same bytes (the store has no password: c_bench's bare hiredis part
  does not authenticate);
- reduce: ``open_dataset(...).u.mean().compute()`` on a 2-worker
  ``LocalCluster`` against a raw ``get_tensor`` loop in this process (the
  baseline of ``bench_bridge.py``), plus the server CPU per GB read; and the
  Dask scheduler's rate on trivial tasks (``client.map`` of a no-op,
  gathered), the figure that bounds reductions with one task per key at
  scale;
- inference: ``run_model`` p50 against the in-process TorchScript call, and
  requests/s of concurrent caller processes with batching off and on
  (``bench_inference.py``'s model and helpers), with the store server's CPU
  per request (what bounds the one shard every request of a store passes);
- connections: connections per shard of a 3-shard cluster store held by N
  client processes that each wrote to every shard, and by a 2-worker Dask
  cluster that read keys of every shard (``INFO clients``, minus the count
  before).

    python benchmarks/bench_scaling.py [--repeat 5] [--reduce-gib 0.5] [--callers 16] [--c-build DIR] [--json PATH]
    python benchmarks/bench_scaling.py --quick          # smoke run, ~1 min
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmark scripts, reused by import

MIB = 1 << 20


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the store server process has used so far."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def sample(action: Callable[[], Any], pid: int, calls: int) -> tuple[float, float]:
    """Wall seconds and server CPU seconds of ``calls`` back-to-back calls of ``action``."""
    cpu, start = server_cpu(pid), time.perf_counter()
    for _ in range(calls):
        action()
    return time.perf_counter() - start, server_cpu(pid) - cpu


def bench_transfer(repeat: int, sizes_mib: list[int], c_build: Path | None) -> dict[str, Any]:
    """put/get MB/s and server CPU per GB, simdask vs redis-py, one standalone store."""
    import redis

    import simdask

    out: dict[str, Any] = {}
    with simdask.Store(password="") as store:  # no password, so that c_bench's bare hiredis connects too
        pid = store.servers[0].pid
        assert pid is not None
        client = simdask.Client(store.address)
        host, port = store.address.rsplit(":", 1)
        raw = redis.Redis(host=host, port=int(port))
        for mib in sizes_mib:
            array = np.random.default_rng(mib).random(mib * MIB // 8)
            payload = array.tobytes()
            client.put_tensor("t", array)
            raw.set("r", payload)
            contenders: dict[str, Callable[[], Any]] = {
                "put_tensor": functools.partial(client.put_tensor, "t", array),
                "get_tensor": lambda: client.get_tensor("t"),
                "redis-py SET": functools.partial(raw.set, "r", payload),
                "redis-py GET": lambda: raw.get("r"),
            }
            calls = max(4, (128 * MIB) // (mib * MIB))  # 128 MiB per sample
            walls: dict[str, list[float]] = {k: [] for k in contenders}
            cpus: dict[str, list[float]] = {k: [] for k in contenders}
            for action in contenders.values():
                action()  # warm-up
            for _ in range(repeat):
                for label, action in contenders.items():
                    wall, cpu = sample(action, pid, calls)
                    walls[label].append(wall)
                    cpus[label].append(cpu)
            nbytes = calls * mib * MIB
            row: dict[str, Any] = {}
            for label in contenders:
                rates = [nbytes / w / 1e6 for w in walls[label]]
                row[label] = {
                    "MBps": statistics.median(rates),
                    "MBps_min": min(rates),
                    "MBps_max": max(rates),
                    "server_cpu_s_per_GB": sum(cpus[label]) / (repeat * nbytes / 1e9),  # 10 ms ticks: summed
                }
            for ours, base in (("put_tensor", "redis-py SET"), ("get_tensor", "redis-py GET")):
                ratios = [walls[base][i] / walls[ours][i] for i in range(repeat)]
                row[f"{ours} / {base}"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
            out[f"{mib} MiB"] = row
            print(f"transfer {mib:2d} MiB:")
            for label in contenders:
                r = row[label]
                print(
                    f"  {label:13s} {r['MBps']:8,.0f} MB/s ({r['MBps_min']:,.0f}-{r['MBps_max']:,.0f})"
                    f"  server CPU {r['server_cpu_s_per_GB']:.3f} s/GB"
                )
            for key in ("put_tensor / redis-py SET", "get_tensor / redis-py GET"):
                r = row[key]
                print(f"  {key}: {r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})")
        if c_build is not None:
            out["c"] = bench_c(c_build, int(port), pid, sizes_mib, repeat)
        client.close()
    return out


def bench_c(build_dir: Path, port: int, pid: int, sizes_mib: list[int], repeat: int) -> dict[str, Any]:
    """The C client against its bare pipelined socket, same store; server CPU per GB of a whole c_bench run."""
    import bench_c_client

    exe = build_dir / "c_bench"
    if not exe.exists():
        build_dir.mkdir(parents=True, exist_ok=True)
        exe = bench_c_client.build(build_dir)
    out: dict[str, Any] = {}
    for mib in sizes_mib:
        size = mib * MIB
        n = max(8, (256 * MIB) // size)
        samples: dict[str, list[float]] = {}
        cpu_per_gb = []
        for _ in range(repeat):
            cpu = server_cpu(pid)
            for line in bench_c_client.sh([exe, "127.0.0.1", port, size, n]).splitlines():
                op, rate = line.split()
                samples.setdefault(op, []).append(float(rate))
            moved = 7 * (n + 1) * size  # sd put/get/unpack, hiredis set/get, bare set/get, each n calls + warm-up
            cpu_per_gb.append((server_cpu(pid) - cpu) / (moved / 1e9))
        med = {op: statistics.median(v) for op, v in samples.items()}
        row = {
            "MBps": med,
            "sd_put / bare_set": med["sd_put"] / med["bare_set"],
            "sd_get / bare_get": med["sd_get"] / med["bare_get"],
            "server_cpu_s_per_GB_mixed": statistics.median(cpu_per_gb),
        }
        out[f"{mib} MiB"] = row
        print(
            f"C {mib:2d} MiB: sd_put {med['sd_put']:,.0f} MB/s ({row['sd_put / bare_set']:.2f}x bare SET), "
            f"sd_get {med['sd_get']:,.0f} MB/s ({row['sd_get / bare_get']:.2f}x bare GET), "
            f"server CPU {row['server_cpu_s_per_GB_mixed']:.3f} s/GB (all ops)"
        )
    return out


def _noop(i: int) -> int:
    return i


def bench_reduce(gib: float, repeat: int, scheduler_tasks: int) -> dict[str, Any]:
    """Reduction over stored steps vs a raw get loop; the Dask scheduler's rate on trivial tasks."""
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    import simdask

    side = 1024  # 8 MiB float64 steps, as bench_bridge.py
    steps = max(4, int(gib * 1024 / 8))
    nbytes = steps * side * side * 8
    with simdask.Store() as store:
        pid = store.servers[0].pid
        assert pid is not None
        client = simdask.Client(store.address)
        for s in range(steps):
            client.put_tensor(f"u.step{s}", np.random.default_rng(s).random((side, side)), dims=("y", "x"))
        keys = [f"u.step{s}" for s in range(steps)]

        def raw() -> None:
            for key in keys:
                client.get_tensor(key)

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0") as cluster,
            DaskClient(cluster) as dask_client,
        ):
            ds = simdask.open_dataset("u.step{step:d}", client)
            reduction = ds.u.mean()
            graph_tasks = len(reduction.data.__dask_graph__())
            contenders: dict[str, Callable[[], Any]] = {"raw": raw, "dask": lambda: float(reduction.compute())}
            for action in contenders.values():
                action()  # warm-up
            walls: dict[str, list[float]] = {k: [] for k in contenders}
            cpus: dict[str, list[float]] = {k: [] for k in contenders}
            for _ in range(repeat):
                for label, action in contenders.items():
                    wall, cpu = sample(action, pid, 1)
                    walls[label].append(wall)
                    cpus[label].append(cpu)
            dask_client.gather(dask_client.map(_noop, range(200), pure=False))  # warm-up
            rates = []
            for _ in range(repeat):
                start = time.perf_counter()
                dask_client.gather(dask_client.map(_noop, range(scheduler_tasks), pure=False))
                rates.append(scheduler_tasks / (time.perf_counter() - start))
        client.close()
    ratios = [walls["raw"][i] / walls["dask"][i] for i in range(repeat)]
    out: dict[str, Any] = {
        "steps": steps,
        "bytes": nbytes,
        "graph_tasks": graph_tasks,
        "raw_GBps": nbytes / statistics.median(walls["raw"]) / 1e9,
        "dask_GBps": nbytes / statistics.median(walls["dask"]) / 1e9,
        "dask / raw": {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)},
        "dask_tasks_per_s": graph_tasks / statistics.median(walls["dask"]),
        "server_cpu_s_per_GB": {k: sum(v) / (repeat * nbytes / 1e9) for k, v in cpus.items()},
        "scheduler_noop_tasks_per_s": {"median": statistics.median(rates), "min": min(rates), "max": max(rates)},
    }
    r = out["dask / raw"]
    s = out["scheduler_noop_tasks_per_s"]
    print(
        f"reduce {nbytes / 1e9:.2f} GB in {steps} keys ({graph_tasks} tasks): raw {out['raw_GBps']:.2f} GB/s, "
        f"dask {out['dask_GBps']:.2f} GB/s = {r['median']:.2f}x raw ({r['min']:.2f}-{r['max']:.2f}), "
        f"{out['dask_tasks_per_s']:,.0f} tasks/s; server CPU s/GB raw {out['server_cpu_s_per_GB']['raw']:.3f}, "
        f"dask {out['server_cpu_s_per_GB']['dask']:.3f}"
    )
    print(f"scheduler, {scheduler_tasks} no-op tasks: {s['median']:,.0f} tasks/s ({s['min']:,.0f}-{s['max']:,.0f})")
    return out


def bench_inference(requests: int, callers: int, per_caller: int) -> dict[str, Any]:
    """run_model p50 above the in-process call; batched vs unbatched requests/s (bench_inference.py's helpers)."""
    import torch
    from bench_inference import MLP, percentiles, throughput, timed
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    import simdask

    torch.set_num_threads(1)
    scripted = torch.jit.script(MLP().eval())
    x = np.random.default_rng(0).random((1, 64), dtype=np.float32)
    tensor = torch.from_numpy(x)
    with torch.inference_mode():
        in_process = timed(lambda: scripted(tensor), requests)
    with (
        simdask.Store() as store,
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address="127.0.0.1:0", host="127.0.0.1") as cluster,
        DaskClient(cluster) as dask_client,
    ):
        client = simdask.Client(store.address)
        client.set_model("mlp", scripted, "TORCH")
        client.set_model("mlp_batched", scripted, "TORCH", batch_size=64)
        client.put_tensor("x", x)
        with simdask.InferenceServer(store.address, dask_client):
            pid = store.servers[0].pid
            assert pid is not None
            cpu = server_cpu(pid)
            round_trip = timed(lambda: client.run_model("mlp", ["x"], ["y"]), requests)
            cpu_single = (server_cpu(pid) - cpu) / (requests + 1)
            cpu = server_cpu(pid)
            unbatched = throughput(store.address, "mlp", callers, per_caller)[0]  # (requests/s, p50, p99)
            cpu_unbatched, cpu = (server_cpu(pid) - cpu) / (callers * per_caller), server_cpu(pid)
            batched = throughput(store.address, "mlp_batched", callers, per_caller)[0]
            cpu_batched = (server_cpu(pid) - cpu) / (callers * per_caller)
        client.close()
    p50_in, _ = percentiles(in_process)
    p50_rt, p99_rt = percentiles(round_trip)
    out: dict[str, Any] = {
        "in_process_p50_us": p50_in,
        "run_model_p50_us": p50_rt,
        "run_model_p99_us": p99_rt,
        "above_in_process_us": p50_rt - p50_in,
        "callers": callers,
        "unbatched_rps": unbatched,
        "batched_rps": batched,
        "batched / unbatched": batched / unbatched,
        "server_cpu_us_per_request": {
            "one caller": cpu_single * 1e6,
            "unbatched": cpu_unbatched * 1e6,
            "batched": cpu_batched * 1e6,
        },
    }
    print(
        f"run_model p50 {p50_rt:,.0f} us (p99 {p99_rt:,.0f}), in-process {p50_in:,.0f} us: "
        f"{out['above_in_process_us']:,.0f} us above; {callers} callers: unbatched {unbatched:,.0f} req/s, "
        f"batched {batched:,.0f} req/s = {out['batched / unbatched']:.1f}x; store server CPU per request: "
        + ", ".join(f"{k} {v:.0f} us" for k, v in out["server_cpu_us_per_request"].items())
    )
    return out


def connected(store: Any) -> list[int]:
    """``connected_clients`` of every shard of ``store``."""
    counts = []
    for server in store.servers:
        info = server.call("INFO", "clients")
        text = info.decode() if isinstance(info, bytes) else str(info)
        counts.append(int(text.split("connected_clients:")[1].split()[0]))
    return counts


def _rank(address: str, index: int, keys: int, ready: Any, done: Any) -> None:
    """A stand-in rank: one client, a small write to keys on every shard, then hold the connections."""
    import simdask

    client = simdask.Client(address)
    client.put_tensors({f"r{index}.k{k}": np.zeros(4) for k in range(keys)})
    client.get_tensors([f"r{index}.k{k}" for k in range(keys)])
    ready.release()
    done.wait(120)
    client.close()


def bench_connections(process_counts: list[int]) -> dict[str, Any]:
    """Connections per shard held by N client processes and by a 2-worker Dask cluster reading every shard."""
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    import simdask

    out: dict[str, Any] = {}
    ctx = multiprocessing.get_context("fork")
    with simdask.Store("cluster") as store:
        base = connected(store)
        out["baseline"] = base
        for n in process_counts:
            ready, done = ctx.Semaphore(0), ctx.Event()
            procs = [ctx.Process(target=_rank, args=(store.address, i, 32, ready, done)) for i in range(n)]
            for p in procs:
                p.start()
            for _ in range(n):
                if not ready.acquire(timeout=120):
                    raise TimeoutError(f"a client process did not write to {store.address} within 120 s")
            held = [c - b for c, b in zip(connected(store), base, strict=True)]
            done.set()
            for p in procs:
                p.join(30)
            out[f"{n} processes"] = held
            print(f"connections per shard, {n:3d} client processes: {held} ({max(held) / n:.2f} per process)")
        client = simdask.Client(store.address)
        client.put_tensors({f"u.step{s}": np.zeros((8, 8)) for s in range(64)})
        before = connected(store)
        with (
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0") as cluster,
            DaskClient(cluster),
        ):
            float(simdask.open_dataset("u.step{step:d}", client).u.mean().compute())
            held = [c - b for c, b in zip(connected(store), before, strict=True)]
        out["2 dask workers"] = held
        print(f"connections per shard, 2 Dask workers after a reduction: {held} ({max(held) / 2:.2f} per worker)")
        limits: Any = store.servers[0].call("CONFIG", "GET", "maxclients")
        out["maxclients"] = int(limits[1])
        client.close()
    import resource

    out["ulimit_n"] = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    print(f"maxclients {out['maxclients']}, this process's RLIMIT_NOFILE {out['ulimit_n']}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16], help="transfer sizes in MiB")
    parser.add_argument("--reduce-gib", type=float, default=0.5)
    parser.add_argument("--scheduler-tasks", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=1000, help="samples for the run_model latency")
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--per-caller", type=int, default=100)
    parser.add_argument("--processes", type=int, nargs="+", default=[4, 16], help="client process counts")
    parser.add_argument("--c-build", type=Path, help="build (or reuse) c_bench here and measure the C client")
    parser.add_argument("--only", nargs="+", choices=["transfer", "reduce", "inference", "connections"])
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, few repeats")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.reduce_gib, args.scheduler_tasks = 2, 0.0625, 300
        args.requests, args.callers, args.per_caller, args.processes = 100, 4, 20, [2]
    sections: dict[str, Callable[[], dict[str, Any]]] = {
        "transfer": lambda: bench_transfer(args.repeat, args.sizes, args.c_build),
        "reduce": lambda: bench_reduce(args.reduce_gib, args.repeat, args.scheduler_tasks),
        "inference": lambda: bench_inference(args.requests, args.callers, args.per_caller),
        "connections": lambda: bench_connections(args.processes),
    }
    print(f"load average at start: {psutil.getloadavg()}")
    results: dict[str, Any] = {name: run() for name, run in sections.items() if not args.only or name in args.only}
    results["load_average_end"] = psutil.getloadavg()
    print(f"load average at end: {results['load_average_end']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
