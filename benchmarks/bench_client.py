"""Throughput of simdask's Python client against the baselines of issue 2.

One run, one server per transport (``simdask.Store`` standalone on TCP and
``Store(kind="unix")``), float64 tensors of 4 KiB .. 64 MiB. Contenders:

- simdask ``Client.put_tensor`` / ``get_tensor`` / ``unpack_tensor`` (into a
  preallocated ``np.empty_like`` array; and, as a diagnostic, into a
  page-aligned one), over TCP and over the Unix socket;
- (a) raw redis-py ``SET`` / ``GET`` of the same bytes (``array.tobytes()``,
  made outside the timed region), same server;
- (b) ``redis-benchmark -t set,get -d SIZE -c 1 -P 1`` against the same server
  (requests/s * SIZE);
- (c) ``np.save`` / ``np.load`` of a temp file on local disk (page cache), and
  ``np.save`` + ``os.fsync``.

Method: within each size the contenders run round-robin, one sample each per
repeat; the figure is the median sample. Each sample times enough operations
to last >= ``--sample-ms`` (redis-benchmark runs last ~0.5 s per command).
One warm-up operation per contender first. 1 MB = 1e6 bytes.

Also: peak traced memory (tracemalloc) of one ``get_tensor`` of the largest
size divided by its nbytes, and the start-to-ready time of a standalone and
of a 3-shard cluster store.

Usage::

    python benchmarks/bench_client.py [--quick] [--sizes 4KiB 1MiB ...] [--repeat N] [--json PATH]
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

KIB, MIB = 1024, 1024 * 1024
DEFAULT_SIZES = [4 * KIB, 64 * KIB, 1 * MIB, 16 * MIB, 64 * MIB]
UNITS = {"kib": KIB, "mib": MIB, "gib": 1024 * MIB, "k": KIB, "m": MIB, "b": 1, "": 1}


def parse_size(text: str) -> int:
    t = text.strip().lower()
    for unit in sorted(UNITS, key=len, reverse=True):
        if unit and t.endswith(unit):
            return int(float(t[: -len(unit)]) * UNITS[unit])
    return int(t)


def label(size: int) -> str:
    if size >= MIB and size % MIB == 0:
        return f"{size // MIB} MiB"
    if size >= KIB and size % KIB == 0:
        return f"{size // KIB} KiB"
    return f"{size} B"


def mbps(nbytes: float, seconds: float) -> float:
    return nbytes / seconds / 1e6


# -- contenders ---------------------------------------------------------------------


class Timed:
    """An operation timed in samples of ``iters`` back-to-back calls."""

    kind = "timed"

    def __init__(self, name: str, op: Callable[[], Any], nbytes: int) -> None:
        self.name, self.op, self.nbytes = name, op, nbytes
        self.iters = 1

    def calibrate(self, sample_s: float) -> None:
        self.op()  # warm up
        t = time.perf_counter()
        self.op()
        one = max(time.perf_counter() - t, 1e-7)
        self.iters = max(1, math.ceil(sample_s / one))
        # second pass on a real sample, so that the first timing's noise does not matter
        elapsed = self._run(self.iters)
        self.iters = max(1, math.ceil(sample_s * self.iters / elapsed))

    def _run(self, iters: int) -> float:
        op = self.op
        t = time.perf_counter()
        for _ in range(iters):
            op()
        return time.perf_counter() - t

    def sample(self) -> dict[str, float]:
        elapsed = self._run(self.iters)
        return {self.name: mbps(self.nbytes * self.iters, elapsed)}


class RedisBenchmark:
    """One ``redis-benchmark -t set,get`` run gives a SET and a GET sample."""

    kind = "redis-benchmark"

    def __init__(self, prefix: str, target: list[str], size: int, run_s: float) -> None:
        self.prefix, self.target, self.size, self.run_s = prefix, target, size, run_s
        self.n = 3 if size >= 16 * MIB else 50
        self.failed: str | None = None

    def _run(self, n: int) -> dict[str, float]:
        cmd = [
            "redis-benchmark",
            *self.target,
            "-t",
            "set,get",
            "-d",
            str(self.size),
            "-n",
            str(n),
            "-c",
            "1",
            "-P",
            "1",
            "--csv",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        rps = {}
        for row in csv.reader(io.StringIO(proc.stdout)):
            if len(row) >= 2 and row[0] in ("SET", "GET"):
                rps[row[0]] = float(row[1])
        if proc.returncode or set(rps) != {"SET", "GET"}:
            raise RuntimeError(f"{' '.join(cmd)} failed (rc {proc.returncode}): {proc.stderr.strip()[-300:]}")
        return rps

    def calibrate(self, sample_s: float) -> None:
        try:
            rps = self._run(self.n)
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            self.failed = str(exc)
            return
        slowest = min(rps.values())
        self.n = max(2, math.ceil(self.run_s * slowest))

    def sample(self) -> dict[str, float]:
        if self.failed:
            return {}
        rps = self._run(self.n)
        return {
            f"{self.prefix} SET": mbps(rps["SET"] * self.size, 1.0),
            f"{self.prefix} GET": mbps(rps["GET"] * self.size, 1.0),
        }


def page_aligned_like(array: np.ndarray) -> np.ndarray:
    """An empty array like ``array`` whose data start on a 4096-byte boundary."""
    raw = np.empty(array.nbytes + 4096, dtype=np.uint8)
    start = -raw.ctypes.data % 4096
    return raw[start : start + array.nbytes].view(array.dtype).reshape(array.shape)


def simdask_contenders(tag: str, client: Any, array: np.ndarray, key: str) -> list[Timed]:
    out = np.empty_like(array)  # what a user writes; large numpy arrays start 16 bytes into a page
    aligned = page_aligned_like(array)
    client.put_tensor(key, array)
    return [
        Timed(f"{tag} put_tensor", lambda: client.put_tensor(key, array), array.nbytes),
        Timed(f"{tag} get_tensor", lambda: client.get_tensor(key), array.nbytes),
        Timed(f"{tag} unpack_tensor", lambda: client.unpack_tensor(key, out), array.nbytes),
        Timed(f"{tag} unpack_tensor aligned", lambda: client.unpack_tensor(key, aligned), array.nbytes),
    ]


def redis_py_contenders(tag: str, conn: Any, value: bytes, key: str) -> list[Timed]:
    conn.set(key, value)
    return [
        Timed(f"{tag} redis-py SET", lambda: conn.set(key, value), len(value)),
        Timed(f"{tag} redis-py GET", lambda: conn.get(key), len(value)),
    ]


def numpy_contenders(array: np.ndarray, directory: str) -> list[Timed]:
    path = os.path.join(directory, "bench.npy")

    def save() -> None:
        with open(path, "wb") as f:
            np.save(f, array)

    def save_fsync() -> None:
        with open(path, "wb") as f:
            np.save(f, array)
            f.flush()
            os.fsync(f.fileno())

    def load() -> None:
        np.load(path)

    save()
    return [
        Timed("np.save", save, array.nbytes),
        Timed("np.load", load, array.nbytes),
        Timed("np.save+fsync", save_fsync, array.nbytes),
    ]


# -- memory and start-up ---------------------------------------------------------------


def traced_peak(op: Callable[[], Any]) -> int:
    """Peak bytes traced by tracemalloc during ``op()`` beyond what was traced before."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = op()
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        tracemalloc.stop()
    return peak - before


def start_times(simdask: Any, kind: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        store = simdask.Store(kind=kind)
        t = time.perf_counter()
        store.start()
        times.append(time.perf_counter() - t)
        store.stop()
    return times


# -- the run ---------------------------------------------------------------------------


def machine_note() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in load],
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    import redis

    import simdask

    results: dict[str, Any] = {"args": vars(args), "machine_start": machine_note(), "sizes": {}}
    have_rb = shutil.which("redis-benchmark") is not None
    if have_rb:
        version = subprocess.run(["redis-benchmark", "--version"], capture_output=True, text=True).stdout.strip()
        results["redis_benchmark"] = version
    tcp_store = simdask.Store().start()
    unix_store = simdask.Store(kind="unix").start()
    tmpdir = tempfile.mkdtemp(prefix="simdask-bench-", dir=args.tmpdir)
    try:
        host, port = tcp_store.address.rsplit(":", 1)
        sock_path = unix_store.address[len("unix://") :]
        clients = {"tcp": simdask.Client(tcp_store.address), "unix": simdask.Client(unix_store.address)}
        rconns = {"tcp": redis.Redis(host=host, port=int(port)), "unix": redis.Redis(unix_socket_path=sock_path)}
        rb_targets = {"tcp": ["-h", host, "-p", port], "unix": ["-s", sock_path]}
        results["servers"] = {
            "tcp": tcp_store.address,
            "unix": unix_store.address,
            "redis_py": redis.__version__,
            "hiredis": bool(redis.utils.HIREDIS_AVAILABLE),
        }
        for size in args.sizes:
            array = np.random.default_rng(size).random(size // 8)
            value = array.tobytes()
            contenders: list[Any] = []
            for tag in args.transports:
                contenders += simdask_contenders(tag, clients[tag], array, f"bench:sd:{size}")
                contenders += redis_py_contenders(tag, rconns[tag], value, f"bench:raw:{size}")
                if have_rb:
                    contenders.append(RedisBenchmark(f"{tag} redis-benchmark", rb_targets[tag], size, args.rb_seconds))
            if not args.no_numpy:
                contenders += numpy_contenders(array, tmpdir)
            for c in contenders:
                c.calibrate(args.sample_ms / 1000)
            repeats = args.repeat * (2 if size <= 64 * KIB else 1)
            samples: dict[str, list[float]] = {}
            for _ in range(repeats):
                for c in contenders:  # round-robin: one sample of each contender per repeat
                    for name, value_mbps in c.sample().items():
                        samples.setdefault(name, []).append(value_mbps)
            entry = {
                "label": label(size),
                "repeats": repeats,
                "iters": {c.name: c.iters for c in contenders if isinstance(c, Timed)},
                "redis_benchmark_n": {c.prefix: c.n for c in contenders if isinstance(c, RedisBenchmark)},
                "redis_benchmark_failed": {
                    c.prefix: c.failed for c in contenders if isinstance(c, RedisBenchmark) and c.failed
                },
                "samples_mbps": samples,
                "median_mbps": {k: statistics.median(v) for k, v in samples.items()},
            }
            results["sizes"][str(size)] = entry
            print(
                f"  {label(size):>7}: " + ", ".join(f"{k} {v:,.0f}" for k, v in entry["median_mbps"].items()),
                file=sys.stderr,
                flush=True,
            )
            del contenders, value
            for tag in args.transports:
                clients[tag].delete_tensor(f"bench:sd:{size}")
                rconns[tag].delete(f"bench:raw:{size}")

        # peak memory of one get_tensor (and, for comparison, unpack_tensor and redis-py GET)
        size = max(args.sizes)
        array = np.random.default_rng(0).random(size // 8)
        client, rconn = clients["tcp"], rconns["tcp"]
        client.put_tensor("bench:mem", array)
        rconn.set("bench:memraw", array.tobytes())
        out = np.empty_like(array)
        client.get_tensor("bench:mem")  # warm the connection
        memory = {
            "nbytes": array.nbytes,
            "get_tensor": traced_peak(lambda: client.get_tensor("bench:mem")),
            "unpack_tensor": traced_peak(lambda: client.unpack_tensor("bench:mem", out)),
            "put_tensor": traced_peak(lambda: client.put_tensor("bench:mem", array)),
            "redis-py GET": traced_peak(lambda: rconn.get("bench:memraw")),
        }
        results["memory"] = memory
        array = out = None  # free 128 MiB before the next measurements
        client.delete_tensor("bench:mem")
        rconn.delete("bench:memraw")
        for c in clients.values():
            c.close()
        for r in rconns.values():
            r.close()
    finally:
        tcp_store.stop()
        unix_store.stop()
        shutil.rmtree(tmpdir, ignore_errors=True)

    count = 1 if args.quick else 3
    results["start_s"] = {
        "standalone": start_times(simdask, "standalone", count),
        "cluster": start_times(simdask, "cluster", count),
    }
    results["machine_end"] = machine_note()
    return results


# -- report ----------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "n/a"


def fmt(x: float | None) -> str:
    return f"{x:,.0f}" if x else "n/a"


def targets(results: dict[str, Any]) -> list[tuple[str, bool]]:
    """(description with the measured value, met?) for each target of issue 2."""
    out = []
    sizes = results["sizes"]
    for tag in results["args"]["transports"]:
        for size in (MIB, 16 * MIB):
            med = sizes.get(str(size), {}).get("median_mbps")
            if not med:
                continue
            g = lambda n: med.get(f"{tag} {n}")  # noqa: E731
            for what, a, b, need in (
                ("put_tensor / redis-benchmark SET", "put_tensor", "redis-benchmark SET", 1.0),
                ("get_tensor / redis-py GET", "get_tensor", "redis-py GET", 1.0),
                ("unpack_tensor / redis-py GET", "unpack_tensor", "redis-py GET", 1.5),
            ):
                if g(a) and g(b):
                    r = g(a) / g(b)
                    out.append((f"{tag} {label(size)} {what} = {r:.2f}x (>= {need})", r >= need))
        med = sizes.get(str(64 * MIB), {}).get("median_mbps")
        if med:
            for n, need in (("put_tensor", 2.0), ("unpack_tensor", 1.5)):
                v = med[f"{tag} {n}"] / 1e3
                out.append((f"{tag} 64 MiB {n} = {v:.2f} GB/s (>= {need})", v >= need))
    mem = results.get("memory")
    if mem and mem["nbytes"] == 64 * MIB:
        r = mem["get_tensor"] / mem["nbytes"]
        out.append((f"get_tensor 64 MiB peak traced memory = {r:.2f}x nbytes (<= 1 buffer)", r <= 1.05))
    st = results.get("start_s")
    if st:
        t = max(st["cluster"])
        out.append((f"3-shard cluster start to ready = {t:.2f} s, slowest of {len(st['cluster'])} (< 5 s)", t < 5))
    return out


def report(results: dict[str, Any]) -> str:
    lines = []
    m0, m1 = results["machine_start"], results["machine_end"]
    lines.append(
        f"simdask client benchmark, {m0['time']}, Python {m0['python']}, {m0['cpus']} CPUs, "
        f"load average {m0['loadavg']} at start, {m1['loadavg']} at end"
    )
    lines.append("Throughput in MB/s (1 MB = 1e6 bytes), float64 tensors, median of the repeats.\n")
    transports = results["args"]["transports"]
    names = [
        "put_tensor",
        "get_tensor",
        "unpack_tensor",
        "unpack_tensor aligned",
        "redis-py SET",
        "redis-py GET",
        "redis-benchmark SET",
        "redis-benchmark GET",
    ]
    header = ["size", "transport", *names, "np.save", "np.load", "np.save+fsync"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join([" --- "] * 2 + [" ---: "] * (len(header) - 2)) + "|")
    for size, entry in results["sizes"].items():
        med = entry["median_mbps"]
        for i, tag in enumerate(transports):
            cells = [entry["label"] if i == 0 else "", tag]
            for n in names:
                v = med.get(f"{tag} {n}")
                if v is None and n.startswith("redis-benchmark") and entry["redis_benchmark_failed"]:
                    cells.append("failed")
                else:
                    cells.append(fmt(v))
            for n in ("np.save", "np.load", "np.save+fsync"):
                cells.append(fmt(med.get(n)) if i == 0 else "")
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Ratios (targets of issue 2 in brackets; medians of the same run):\n")
    lines.append(
        "| size | transport | put / redis-benchmark SET [>= 1.0 at 1, 16 MiB] | put / redis-py SET "
        "| get / redis-py GET [>= 1.0 at 1, 16 MiB] | unpack / redis-py GET [>= 1.5 at 1, 16 MiB] |"
    )
    lines.append("| --- | --- | ---: | ---: | ---: | ---: |")
    for size, entry in results["sizes"].items():
        med = entry["median_mbps"]
        for i, tag in enumerate(transports):
            g = lambda n: med.get(f"{tag} {n}")  # noqa: E731
            lines.append(
                f"| {entry['label'] if i == 0 else ''} | {tag} | {ratio(g('put_tensor'), g('redis-benchmark SET'))} "
                f"| {ratio(g('put_tensor'), g('redis-py SET'))} | {ratio(g('get_tensor'), g('redis-py GET'))} "
                f"| {ratio(g('unpack_tensor'), g('redis-py GET'))} |"
            )
    if "tcp" in transports and "unix" in transports:
        lines.append("")
        lines.append("Unix socket / TCP, simdask:\n")
        lines.append("| size | put_tensor | get_tensor | unpack_tensor |")
        lines.append("| --- | ---: | ---: | ---: |")
        for size, entry in results["sizes"].items():
            med = entry["median_mbps"]
            lines.append(
                f"| {entry['label']} | "
                + " | ".join(
                    ratio(med.get(f"unix {n}"), med.get(f"tcp {n}"))
                    for n in ("put_tensor", "get_tensor", "unpack_tensor")
                )
                + " |"
            )
    largest = results["sizes"].get(str(64 * MIB))
    if largest:
        med = largest["median_mbps"]
        lines.append("")
        for tag in transports:
            lines.append(
                f"64 MiB over {tag}: put_tensor {med[f'{tag} put_tensor'] / 1e3:.2f} GB/s [>= 2], "
                f"unpack_tensor {med[f'{tag} unpack_tensor'] / 1e3:.2f} GB/s [>= 1.5], "
                f"get_tensor {med[f'{tag} get_tensor'] / 1e3:.2f} GB/s"
            )
    mem = results.get("memory")
    if mem:
        n = mem["nbytes"]
        lines.append("")
        lines.append(
            f"Peak traced memory during one call, {label(n)} tensor, TCP (tracemalloc; / nbytes): "
            + ", ".join(f"{k} {v / n:.2f}x" for k, v in mem.items() if k != "nbytes")
            + " [get_tensor <= ~1.0x: the result itself]"
        )
    st = results.get("start_s")
    if st:
        lines.append("")
        lines.append(
            "Store start to ready (s, median / max of "
            f"{len(st['cluster'])}): standalone {statistics.median(st['standalone']):.3f} / "
            f"{max(st['standalone']):.3f}, 3-shard cluster {statistics.median(st['cluster']):.2f} / "
            f"{max(st['cluster']):.2f} [< 5]"
        )
    lines.append("")
    lines.append("Targets of issue 2 (this run):\n")
    for text, ok in targets(results):
        lines.append(f"- {'met' if ok else 'NOT met'}: {text}")
    failed = {e["label"]: e["redis_benchmark_failed"] for e in results["sizes"].values() if e["redis_benchmark_failed"]}
    if failed:
        lines.append(f"\nredis-benchmark failed: {failed}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 repeats, 10 ms samples, short redis-benchmark runs, one start each",
    )
    parser.add_argument(
        "--sizes",
        nargs="+",
        type=parse_size,
        default=None,
        help="tensor sizes in bytes (suffixes KiB, MiB), default 4KiB 64KiB 1MiB 16MiB 64MiB",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="repeats per size (default 7; 3 with --quick; doubled for sizes <= 64 KiB)",
    )
    parser.add_argument("--sample-ms", type=float, default=None, help="minimum length of one sample (default 40)")
    parser.add_argument(
        "--rb-seconds", type=float, default=None, help="target length of each redis-benchmark command (default 0.5 s)"
    )
    parser.add_argument("--transports", nargs="+", choices=["tcp", "unix"], default=["tcp", "unix"])
    parser.add_argument("--no-numpy", action="store_true", help="skip the np.save/np.load rows")
    parser.add_argument("--tmpdir", default=None, help="directory for the .npy file (local disk; default $TMPDIR)")
    parser.add_argument("--json", metavar="PATH", help="write raw results (every sample) as JSON")
    args = parser.parse_args(argv)
    args.sizes = sorted(args.sizes or DEFAULT_SIZES)
    for size in args.sizes:
        if size % 8:
            parser.error(f"size {size} is not a multiple of 8 bytes (float64)")
    args.repeat = args.repeat or (3 if args.quick else 7)
    args.sample_ms = args.sample_ms or (10 if args.quick else 40)
    args.rb_seconds = args.rb_seconds or (0.15 if args.quick else 0.5)
    results = run(args)
    text = report(results)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
