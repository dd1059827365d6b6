"""``simdask serve``: an inference service on a Dask cluster (an existing scheduler or a local one), or
``--threads N`` serving loops in this process without Dask (what a store with ``serve=N`` runs).

The store's password is never an argument: ``SIMDASK_PASSWORD``, else this
user's credentials file of the store's address.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import psutil

from ..errors import ServiceStateError
from .store_cmd import catch_stop_signals, stop_signal

_OWNER_CHECK_S = 1.0  # seconds between checks that the processes of --exit-with still run
_INTERRUPT_STOP_S = 2.0  # seconds the loops have to finish after Ctrl-C
_CLOSE_S = 2.0  # seconds then left to the Dask client and the local cluster to close: in all, under 5 s
_TERM_STOP_S = 5.0  # seconds the loops have to finish after SIGTERM (less than a store's shutdown-timeout)


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="answer run_model/run_script requests until interrupted",
        description="Run serving loops that answer run_model/run_script requests sent to a store: on a Dask cluster "
        "(an existing scheduler, or a local cluster started here), or --threads N in this process. Ctrl-C stops them "
        "within seconds (exit status 130); SIGTERM too (0).",
    )
    serve.add_argument("--address", help="the store (default: $SIMDASK_ADDRESS)")
    serve.add_argument("--scheduler", help="address of a running Dask scheduler (default: start a local cluster)")
    serve.add_argument("--workers", type=int, default=1, help="local workers to start (without --scheduler)")
    serve.add_argument(
        "--gpu",
        action="store_true",
        help="declare a GPU resource on every local worker; with --threads: the loops run GPU models (default: "
        "when this node shows an NVIDIA GPU)",
    )
    serve.add_argument("--loops-per-worker", type=int, default=1, help="serving loops on each Dask worker")
    serve.add_argument("--name", help="name of this server's serving loops")
    serve.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help="run N serving loops as threads of this process, without Dask (one node's service); their models run on "
        "one thread each unless OMP_NUM_THREADS, MKL_NUM_THREADS or OPENBLAS_NUM_THREADS say otherwise (as Dask's "
        "workers)",
    )
    serve.add_argument(
        "--exit-with",
        type=int,
        action="append",
        default=[],
        metavar="PID",
        help="with --threads: stop when this process ends (repeatable; a store's servers)",
    )
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    if args.threads is not None:
        return _serve_threads(args)
    if args.exit_with:
        raise SystemExit("simdask serve: --exit-with needs --threads")
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    from ..inference import InferenceServer

    if not args.verbose:  # the Dask cluster's own news (scheduler, nannies, workers) only with simdask -v
        _quiet_dask()
    wakeup = catch_stop_signals()
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
            preload=[__name__],  # dask_setup below: Ctrl-C stops this process, which stops the workers
        )
        dask_client = DaskClient(cluster)
    try:
        server = InferenceServer(args.address, dask_client, name=args.name, loops_per_worker=args.loops_per_worker)
        server.start()
        print(
            f"simdask serve: {len(server.futures)} serving loops ({server.name}) on {dask_client.scheduler.address}, "
            f"store {server.client.address}; dashboard {dask_client.dashboard_link}",
            flush=True,
        )
        received = stop_signal(wakeup)
        assert received is not None  # waited without a timeout
        return _stopped(received, lambda timeout: sum(s["served"] or 0 for s in server.stop(timeout=timeout)))
    finally:
        _close(dask_client, cluster)


def _close(dask_client: Any, cluster: Any) -> None:
    """Close the Dask client and the local cluster, at most :data:`_CLOSE_S` seconds; then end the processes of
    this one still running (workers that did not close in time), so that nothing outlives the command."""
    with contextlib.suppress(TimeoutError):
        dask_client.close(timeout=_CLOSE_S / 4)
    try:
        if cluster is not None:
            cluster.close(timeout=_CLOSE_S)
        return
    except TimeoutError:
        pass
    if cluster is not None:  # its processes end below: Dask's exit hook would close it again, waiting up to 10 s
        cluster.shutdown_on_close = False
    left = [p for p in psutil.Process().children(recursive=True) if not _ended(p)]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    for proc in psutil.wait_procs(left, timeout=_CLOSE_S / 4)[1]:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def _quiet_dask() -> None:
    """Dask's INFO lines off, here and in the worker processes started from here (they read the variable)."""
    import distributed  # noqa: F401  (importing it sets its loggers' level: lower it after)

    os.environ["DASK_LOGGING__DISTRIBUTED"] = "warning"
    logging.getLogger("distributed").setLevel(logging.WARNING)


def dask_setup(worker: object) -> None:
    """Preload of the local cluster's workers (Dask calls it as each starts): they ignore Ctrl-C, which a terminal
    sends to its whole foreground process group, and stop when ``simdask serve`` closes the cluster."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stopped(received: int, stop: Callable[[float], int]) -> int:
    """Stop the loops after signal ``received`` (``stop(timeout)`` returns what they served); print one line; the
    exit status: 130 after Ctrl-C (SIGINT), 0 after SIGTERM, 1 when loops would not stop."""
    interrupted = received == signal.SIGINT
    how = "interrupted" if interrupted else "stopped"
    try:
        served = stop(_INTERRUPT_STOP_S if interrupted else _TERM_STOP_S)
    except ServiceStateError as exc:
        print(f"simdask serve: {how}; {exc}", file=sys.stderr, flush=True)
        return 130 if interrupted else 1
    print(f"simdask serve: {how}; served {served} requests", flush=True)
    return 130 if interrupted else 0


#: The numeric libraries' thread counts a ``--threads`` process sets to 1 unless given: each serving loop runs
#: its models on one core (its batches are what make it fast), instead of every loop using every core.
_ONE_THREAD = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _serve_threads(args: argparse.Namespace) -> int:
    """``--threads N``: run until SIGINT (130) or SIGTERM (0), or until a process of ``--exit-with`` ends (1)."""
    from ..inference.threads import ThreadedServer

    if args.threads < 1:
        raise SystemExit(f"simdask serve: --threads must be >= 1, got {args.threads}")
    try:
        owners = [psutil.Process(pid) for pid in args.exit_with]
    except psutil.NoSuchProcess as exc:
        raise SystemExit(f"simdask serve: process {exc.pid} of --exit-with does not run") from None
    for name in _ONE_THREAD:  # as Dask's nanny does for its workers, before a model's runtime reads them
        os.environ.setdefault(name, "1")
    wakeup = catch_stop_signals()
    server = ThreadedServer(args.address, args.threads, name=args.name, gpu=True if args.gpu else None).start()
    print(
        f"simdask serve: {args.threads} serving loops ({server.name}, GPU models: {'yes' if server.gpu else 'no'}) "
        f"in process {psutil.Process().pid}, store {server.client.address}",
        flush=True,
    )
    while (received := stop_signal(wakeup, _OWNER_CHECK_S)) is None:
        gone = [p.pid for p in owners if _ended(p)]
        if gone:
            print(f"simdask serve: process {gone[0]} ended (the store's server): stopping", file=sys.stderr)
            server.cancel()
            return 1
    return _stopped(received, lambda timeout: sum(s["served"] or 0 for s in server.stop(timeout=timeout)))


def _ended(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True
