"""Throughput of the simdask C client: sd_put_tensor / sd_get_tensor / sd_unpack_tensor
against raw hiredis redisCommand SET/GET and redis-benchmark SET/GET, same server, same run.

    python benchmarks/bench_c_client.py [--sizes 1,16,64] [--rounds 5] [--gib 0.5] [--build DIR]

Builds client_c and benchmarks/c_bench.c (gcc, against the installed C client
and Debian's hiredis), starts a standalone simdask.Store (TCP on 127.0.0.1,
no persistence), and for every size runs, `rounds` times interleaved:

    c_bench 127.0.0.1 PORT BYTES N             (the C measurements, see c_bench.c)
    redis-benchmark -h 127.0.0.1 -p PORT -t set,get -d BYTES -n N -c 1 -P 1 -q

with N calls moving about 0.5 GiB per measurement (--gib). Prints the median MB/s
(MB = 10^6 bytes) per operation and each operation's ratio to redis-benchmark
of the same command (SET for puts, GET for gets/unpacks), and sd_*'s ratio to
bare_set/bare_get (the same bytes as pipelined 4 MiB SETs/GETs of fixed keys
on a bare socket, no simdask, no transaction). Needs gcc, cmake,
pkg-config, libhiredis-dev and redis-tools (redis-benchmark).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPS = [
    "sd_put",
    "sd_get",
    "sd_unpack",
    "hiredis_set",
    "hiredis_get",
    "bare_set",
    "bare_get",
    "redis-benchmark SET",
    "redis-benchmark GET",
]
C_OPS = OPS[:5]


def sh(cmd: list, **kw) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def build(build_dir: Path, source: str = "c_bench.c") -> Path:
    """Install client_c under build_dir/prefix and compile benchmarks/``source`` (c_bench.c) against it."""
    prefix = build_dir / "prefix"
    sh(["cmake", "-S", ROOT / "client_c", "-B", build_dir / "c", "-DCMAKE_BUILD_TYPE=Release"])
    sh(["cmake", "--build", build_dir / "c", "-j", "2"])
    sh(["cmake", "--install", build_dir / "c", "--prefix", prefix])
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    flags = sh(["pkg-config", "--cflags", "--libs", "simdask", "hiredis"], env=env).split()
    exe = build_dir / Path(source).stem
    sh(
        [
            "gcc",
            "-O2",
            "-std=c11",
            "-D_POSIX_C_SOURCE=200809L",
            "-Wall",
            ROOT / "benchmarks" / source,
            *flags,
            f"-Wl,-rpath,{prefix / 'lib'}",
            "-o",
            exe,
        ]
    )
    return exe


def redis_benchmark(port: int, size: int, n: int) -> dict[str, float]:
    cmd = [
        "redis-benchmark",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-t",
        "set,get",
        "-d",
        str(size),
        "-n",
        str(n),
        "-c",
        "1",
        "-P",
        "1",
        "-q",
    ]
    out = sh(cmd)
    rates = {}
    for line in out.replace("\r", "\n").splitlines():
        m = re.match(r"\s*(SET|GET): ([\d.]+) requests per second", line)
        if m:
            rates[f"redis-benchmark {m.group(1)}"] = float(m.group(2)) * size / 1e6
    if len(rates) != 2:
        raise SystemExit(f"could not parse redis-benchmark output:\n{out}")
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,16,64", help="value sizes in MiB")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--build", type=Path, help="build folder (default: a temporary one)")
    parser.add_argument("--gib", type=float, default=0.5, help="GiB moved per measurement")
    opts = parser.parse_args()
    for tool in ("gcc", "cmake", "pkg-config", "redis-benchmark"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found")
    from simdask import Store

    with tempfile.TemporaryDirectory() as tmp:
        exe = build(opts.build or Path(tmp))
        # no password: the bare-socket and redis-benchmark baselines do not authenticate (loopback only)
        with Store(password="") as store:
            port = int(store.address.rsplit(":", 1)[1])
            print(f"store: {store.address} (standalone, TCP loopback); {opts.rounds} rounds, median MB/s")
            print(f"{'op':<22}" + "".join(f"{s + ' MiB':>16}" for s in opts.sizes.split(",")))
            table: dict[str, list[str]] = {op: [] for op in OPS}
            ratios: dict[str, list[str]] = {op: [] for op in C_OPS}
            to_bare: dict[str, list[str]] = {op: [] for op in ("sd_put", "sd_get", "sd_unpack")}
            for mib in (int(s) for s in opts.sizes.split(",")):
                size = mib << 20
                n = max(4, int(opts.gib * (1 << 30)) // size)
                samples: dict[str, list[float]] = {op: [] for op in OPS}
                for _ in range(opts.rounds):
                    for line in sh([exe, "127.0.0.1", port, size, n]).splitlines():
                        op, rate = line.split()
                        samples[op].append(float(rate))
                    for op, rate in redis_benchmark(port, size, n).items():
                        samples[op].append(rate)
                med = {op: statistics.median(v) for op, v in samples.items()}
                for op in OPS:
                    table[op].append(f"{med[op]:,.0f}")
                for op in C_OPS:
                    base = med["redis-benchmark SET" if op in ("sd_put", "hiredis_set") else "redis-benchmark GET"]
                    ratios[op].append(f"{med[op] / base:.2f}x")
                for op in to_bare:
                    to_bare[op].append(f"{med[op] / med['bare_set' if op == 'sd_put' else 'bare_get']:.2f}x")
            for op in OPS:
                print(f"{op:<22}" + "".join(f"{v:>16}" for v in table[op]))
            print("ratio to redis-benchmark (SET for puts, GET for gets)")
            for op in C_OPS:
                print(f"{op:<22}" + "".join(f"{v:>16}" for v in ratios[op]))
            print("ratio to the bare socket (bare_set for puts, bare_get for gets)")
            for op, values in to_bare.items():
                print(f"{op:<22}" + "".join(f"{v:>16}" for v in values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
