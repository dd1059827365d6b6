"""``simdask store start|stop|status``: a store that outlives the command, found again by its run directory."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from .. import env
from ..store import Store

DEFAULT_RUN_DIR = Path(".simdask") / "store"


def register(commands: argparse._SubParsersAction) -> None:
    store = commands.add_parser("store", help="start, stop or check a store")
    actions = store.add_subparsers(dest="action", required=True, metavar="ACTION")

    start = actions.add_parser("start", help="start a store and print its address")
    start.add_argument("--kind", choices=("standalone", "unix", "cluster"), default="standalone")
    start.add_argument("--shards", type=int, default=3, help="servers of a cluster store (>= 3)")
    start.add_argument("--host", default="127.0.0.1", help="IP address or interface name to bind to")
    start.add_argument("--port", type=int, help="TCP port (first shard's for a cluster); free port if omitted")
    start.add_argument("--socket", help="Unix socket path (--kind unix)")
    start.add_argument("--maxmemory", help="memory limit per server, e.g. 4gb (writes beyond it fail)")
    start.add_argument("--persist", action="store_true", help="keep an append-only file in the run directory")
    start.add_argument("--foreground", action="store_true", help="run until interrupted, then stop the store")
    _add_run_dir(start)
    start.set_defaults(run=_start)

    stop = actions.add_parser("stop", help="stop the store started in a run directory")
    _add_run_dir(stop)
    stop.set_defaults(run=_stop)

    status = actions.add_parser("status", help="say whether the store of a run directory is running")
    _add_run_dir(status)
    status.set_defaults(run=_status)


def _add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-dir", type=Path, default=DEFAULT_RUN_DIR,
        help=f"where the store keeps config, logs and state (default: ./{DEFAULT_RUN_DIR})",
    )


def _password() -> str | None:
    return os.environ.get(env.PASSWORD) or None


def _start(args: argparse.Namespace) -> int:
    store = Store(
        args.kind, shards=args.shards, host=args.host, port=args.port, socket_path=args.socket,
        password=_password(), maxmemory=args.maxmemory, persist=args.persist, run_dir=args.run_dir.resolve(),
    )
    store.start(detach=not args.foreground)
    # Only the export line goes to stdout, so that `eval "$(simdask store start)"` works.
    print(f"simdask store ({args.kind}) running at {store.address}; run directory {store.run_dir}", file=sys.stderr)
    print(f"export {env.ADDRESS}={store.address}", flush=True)
    if args.foreground:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            store.stop()
            print("simdask store stopped", file=sys.stderr)
    return 0


def _stop(args: argparse.Namespace) -> int:
    store = Store.from_run_dir(args.run_dir, password=_password())
    address = store.address
    store.stop()
    print(f"simdask store at {address} stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    store = Store.from_run_dir(args.run_dir, password=_password())
    running = store.is_running()
    for server in store.servers:
        state = "running" if server.is_alive() else "not running"
        print(f"{server.address}  pid {server.pid}  {state}")
    print(f"store {store.address}: {'running' if running else 'NOT running'}")
    return 0 if running else 1
