"""Data locality across nodes: bytes a reduction reads from another node's store, placement on vs off.

Three simulated nodes on this machine: one Dask worker process per node
(``SIMDASK_NODE=n0/n1/n2``, one thread each) and the data spread over the
nodes, either as a cluster store with one shard per node
(``Store("cluster", nodes=[...])``; one key per chunk, since consecutive
keys hash to different shards) or as three co-located stores (one Unix
socket store per node, each holding its rank's keys, opened with
``simdask.open_colocated``, default chunks: a rank's steps per chunk). The same reduction (``u.mean()``) runs with
placement on and off (``simdask.bridge.placement``), alternating.

On one machine every byte moves over loopback, so time shows nothing of
the network a real cluster would cross: the figure is counted instead.
Each worker's connections count the bytes they receive from each store
server; a byte read by a worker of node A from a server tagged node B is a
cross-node byte. Reported: cross-node bytes / all bytes read, per run, and
the wall time ratio on/off (unfused graphs have one more task per block).

    python benchmarks/bench_locality.py                 # ~1 min
    python benchmarks/bench_locality.py --repeat 5 --keys 96 --size 4MiB
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import dask
import numpy as np
from dask.utils import parse_bytes
from distributed import Client as DaskClient
from distributed import Nanny, Scheduler, SpecCluster

import simdask
from simdask import env
from simdask.locality import store_nodes

NODES = ("n0", "n1", "n2")


def _bytes_by_server() -> dict[str, int]:
    """In a worker: bytes its store connections received so far, per server address (pooled connections)."""
    from simdask.bridge import recipe

    counts: dict[str, int] = {}
    for client in list(recipe._CLIENTS.values()):
        pool = client.session.transport._pool
        for address, conns in list(pool.idle.items()):
            counts[str(address)] = counts.get(str(address), 0) + sum(c.bytes_received for c in conns)
    return counts


def _worker_node() -> str:
    return simdask.locality.node_name()


def measure(dc: DaskClient, open_: Callable[[], object], server_node: dict[str, str], placement: bool) -> dict:
    """One reduction: (cross-node bytes, all bytes, seconds)."""
    before = dc.run(_bytes_by_server)
    with dask.config.set({"simdask.bridge.placement": placement}):
        ds = open_()
    start = time.perf_counter()
    ds.u.mean().compute()  # type: ignore[attr-defined]
    seconds = time.perf_counter() - start
    after = dc.run(_bytes_by_server)
    nodes = dc.run(_worker_node)
    cross = total = 0
    for worker, counts in after.items():
        for server, count in counts.items():
            read = count - before.get(worker, {}).get(server, 0)
            total += read
            if read and server_node[server] != nodes[worker]:
                cross += read
    return {"cross": cross, "total": total, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=48, help="keys per layout (a multiple of 3)")
    parser.add_argument("--size", default="2MiB", help="bytes per key")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = parser.parse_args().keys // 3 * 3
    per_key = parse_bytes(args.size) // 8

    workers = {
        f"worker-{node}": {
            "cls": Nanny,
            "options": {"nthreads": 1, "host": "127.0.0.1", "dashboard_address": ":0", "env": {env.NODE: node}},
        }
        for node in NODES
    }
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": ":0"}}
    spread = simdask.Store("cluster", nodes=list(NODES)).start()
    colocated = [simdask.Store("unix", node=node).start() for node in NODES]
    try:
        with SpecCluster(workers=workers, scheduler=scheduler, silence_logs=40) as cluster, DaskClient(cluster) as dc:
            dc.wait_for_workers(3)
            data = np.random.default_rng(0).random(per_key)
            with simdask.Client(spread.address) as client:
                client.put_tensors({f"u_{i}": data for i in range(n)})
            for rank, store in enumerate(colocated):
                with simdask.Client(store.address) as client:
                    client.put_tensors({f"rank{rank}/u_{i}": data for i in range(n // 3)})
            layouts: dict[str, tuple[Callable[[], object], dict[str, str]]] = {
                "cluster, a shard per node": (  # a key per chunk: consecutive keys are on different shards
                    lambda: simdask.open_dataset("u_{step:d}", spread.address, chunks={}),
                    store_nodes(spread.address),  # type: ignore[dict-item]
                ),
                "co-located stores": (
                    lambda: simdask.open_colocated("rank{rank:d}/u_{step:d}", [s.address for s in colocated], name="u"),
                    {a: b for s in colocated for a, b in store_nodes(s.address).items()},  # type: ignore[misc]
                ),
            }
            print(f"{n} keys of {args.size} per layout, 3 simulated nodes, {args.repeat} runs each, alternating")
            print("| layout | placement | cross-node bytes / all | runs (cross-node %) | time on / off (median) |")
            print("| --- | --- | ---: | --- | ---: |")
            for name, (open_, server_node) in layouts.items():
                measure(dc, open_, server_node, True)  # warm-up: connections, worker nodes
                runs: dict[bool, list[dict]] = {True: [], False: []}
                for _ in range(args.repeat):
                    for placement in (True, False):
                        runs[placement].append(measure(dc, open_, server_node, placement))
                ratio = statistics.median(r["seconds"] for r in runs[True]) / statistics.median(
                    r["seconds"] for r in runs[False]
                )
                for placement in (True, False):
                    shares = [r["cross"] / r["total"] for r in runs[placement]]
                    cross, total = sum(r["cross"] for r in runs[placement]), sum(r["total"] for r in runs[placement])
                    spread_text = ", ".join(f"{100 * s:.0f}" for s in shares)
                    print(
                        f"| {name} | {'on' if placement else 'off'} | {cross / total:.3f} "
                        f"({cross / 1e6:.0f} of {total / 1e6:.0f} MB) | {spread_text} | "
                        f"{f'{ratio:.2f}' if placement else ''} |"
                    )
    finally:
        spread.stop()
        for store in colocated:
            store.stop()


if __name__ == "__main__":
    main()
