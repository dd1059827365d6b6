"""Tuning helper for issue 2: socket buffer sizes and chunk sizes of the Python client.

Not part of the main benchmark (``bench_client.py``). Measures simdask
``put_tensor`` / ``get_tensor`` / ``unpack_tensor`` throughput (MB/s, 1 MB =
1e6 bytes) with different client socket buffer settings (SO_SNDBUF /
SO_RCVBUF, or the kernel's default, i.e. autotuning for TCP), and with
different ``chunk_bytes``, against one standalone TCP store and one Unix
socket store. Variants run round-robin within each size and operation;
median of ``--repeat`` samples.

    python benchmarks/bench_socket_buffers.py [--sizes 1MiB 16MiB 64MiB] [--repeat 7] [--chunks]
"""

from __future__ import annotations

import argparse
import math
import socket
import statistics
import sys
import time

import numpy as np

MIB = 1024 * 1024
SND, RCV = socket.SO_SNDBUF, socket.SO_RCVBUF

BUFFER_VARIANTS = {
    "kernel default": {SND: None, RCV: None},
    "snd 4M": {SND: 4 * MIB, RCV: None},
    "rcv 4M": {SND: None, RCV: 4 * MIB},
    "both 256K": {SND: 256 * 1024, RCV: 256 * 1024},
    "both 1M": {SND: MIB, RCV: MIB},
    "both 4M": {SND: 4 * MIB, RCV: 4 * MIB},  # connection.py before tuning
}


def parse_variant(name: str) -> dict | None:
    """A name of BUFFER_VARIANTS, ``connection.py`` (its own setting), or e.g. ``snd=256K,rcv=1M``
    (an option left out: kernel default)."""
    if name == "connection.py":
        return None
    if name in BUFFER_VARIANTS:
        return BUFFER_VARIANTS[name]
    out = {SND: None, RCV: None}
    for part in name.split(","):
        opt, _, value = part.partition("=")
        size = int(value[:-1]) * {"K": 1024, "M": MIB}[value[-1].upper()]
        out[{"snd": SND, "rcv": RCV}[opt.strip()]] = size
    return out


def make_client(simdask, connection, address: str, family: str, buffers: dict | None, **kwargs):
    """A client whose pooled connection uses ``buffers`` (None: what connection.py does)."""
    keys = ["unix"] if family == "unix" else ["tcp", "tcp-loopback"]
    saved = {k: dict(connection._SOCKET_BUFFERS[k]) for k in keys}
    if buffers is not None:
        for k in keys:
            connection._SOCKET_BUFFERS[k] = buffers
    try:
        client = simdask.Client(address, **kwargs)
        client.put_tensor("warm", np.zeros(8))  # opens the pooled connection under these settings
        conn = client.session.transport._checkout(client.session.transport.node_for("warm"))
        eff = (conn._sock.getsockopt(socket.SOL_SOCKET, SND), conn._sock.getsockopt(socket.SOL_SOCKET, RCV))
        client.session.transport._checkin(conn)
    finally:
        connection._SOCKET_BUFFERS.update(saved)
    return client, eff


def measure(variants: dict, size: int, repeat: int, sample_s: float) -> dict[str, dict[str, float]]:
    """variants: name -> (client, key). Returns op -> name -> median MB/s."""
    array = np.random.default_rng(1).random(size // 8)
    out = np.empty_like(array)
    result: dict[str, dict[str, float]] = {}
    for name, (client, key) in variants.items():
        client.put_tensor(key, array)
    for op in ("put", "get", "unpack"):
        calls = {}
        for name, (client, key) in variants.items():
            if op == "put":
                calls[name] = lambda c=client, k=key: c.put_tensor(k, array)
            elif op == "get":
                calls[name] = lambda c=client, k=key: c.get_tensor(k)
            else:
                calls[name] = lambda c=client, k=key: c.unpack_tensor(k, out)
        iters = {}
        for name, f in calls.items():
            f()
            t = time.perf_counter()
            f()
            iters[name] = max(1, math.ceil(sample_s / max(time.perf_counter() - t, 1e-6)))
        samples: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(repeat):
            for name, f in calls.items():
                n = iters[name]
                t = time.perf_counter()
                for _ in range(n):
                    f()
                samples[name].append(size * n / (time.perf_counter() - t) / 1e6)
        result[op] = {name: statistics.median(v) for name, v in samples.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1MiB", "16MiB", "64MiB"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sample-ms", type=float, default=60)
    parser.add_argument("--transports", nargs="+", choices=["tcp", "unix"], default=["tcp", "unix"])
    parser.add_argument(
        "--variants",
        nargs="+",
        default=list(BUFFER_VARIANTS),
        help="buffer variants to compare: names above or snd=256K,rcv=1M",
    )
    parser.add_argument(
        "--chunks",
        action="store_true",
        help="compare chunk_bytes 1, 2, 4, 8, 16 MiB (buffers as in connection.py) instead",
    )
    args = parser.parse_args()

    import os

    import simdask
    from simdask.transport import connection

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_client import label, parse_size

    sizes = [parse_size(s) for s in args.sizes]
    stores = {"tcp": simdask.Store().start(), "unix": simdask.Store(kind="unix").start()}
    print(f"load average at start {os.getloadavg()}", file=sys.stderr)
    try:
        for family in args.transports:
            address = stores[family].address
            variants = {}
            if args.chunks:
                for cb in (1, 2, 4, 8, 16):
                    client = simdask.Client(address, chunk_bytes=cb * MIB, chunk_threshold=min(8, cb) * MIB)
                    variants[f"chunk {cb} MiB"] = (client, f"k{cb}")
            else:
                for name in args.variants:
                    client, eff = make_client(simdask, connection, address, family, parse_variant(name))
                    print(f"{family} {name}: effective SO_SNDBUF {eff[0]}, SO_RCVBUF {eff[1]}", file=sys.stderr)
                    variants[name] = (client, f"k{len(variants)}")
            print(f"\n### {family}\n")
            print("| size | op | " + " | ".join(variants) + " |")
            print("| --- | --- |" + " ---: |" * len(variants))
            for size in sizes:
                res = measure(variants, size, args.repeat, args.sample_ms / 1000)
                for op, by in res.items():
                    print(
                        f"| {label(size)} | {op} | " + " | ".join(f"{by[n]:,.0f}" for n in variants) + " |", flush=True
                    )
            for client, key in variants.values():
                client.delete_tensor(key)
                client.close()
    finally:
        for store in stores.values():
            store.stop()
    print(f"\nload average at end {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
