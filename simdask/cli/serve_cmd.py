"""``simdask serve``: an inference service on a Dask cluster (an existing scheduler or a local one)."""

from __future__ import annotations

import argparse
import signal
import threading


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="answer run_model/run_script requests until interrupted")
    serve.add_argument("--address", help="the store (default: $SIMDASK_ADDRESS)")
    serve.add_argument("--scheduler", help="address of a running Dask scheduler (default: start a local cluster)")
    serve.add_argument("--workers", type=int, default=1, help="local workers to start (without --scheduler)")
    serve.add_argument("--gpu", action="store_true", help="declare a GPU resource on every local worker")
    serve.add_argument("--loops-per-worker", type=int, default=1)
    serve.add_argument("--name", help="name of this server's serving loops")
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    from ..inference import InferenceServer

    cluster = None
    if args.scheduler:
        dask_client = DaskClient(args.scheduler)
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1",
            resources={"GPU": 1} if args.gpu else None,
        )
        dask_client = DaskClient(cluster)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = InferenceServer(args.address, dask_client, name=args.name, loops_per_worker=args.loops_per_worker)
    try:
        server.start()
        print(
            f"simdask serve: {len(server.futures)} serving loops ({server.name}) on {dask_client.scheduler.address}, "
            f"store {server.client.address}; dashboard {dask_client.dashboard_link}",
            flush=True,
        )
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        served = server.stop()
        print(f"simdask serve: stopped; served {sum(s['served'] for s in served)} requests", flush=True)
    finally:
        dask_client.close()
        if cluster is not None:
            cluster.close()
    return 0
