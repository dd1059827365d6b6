"""``simdask store start|stop|status``: a store that outlives the command, found again by its run directory.

Every command first cleans up the temporary run directories of stores whose
owner died (:func:`~simdask.store.reap_stale_stores`). A store's password
(``SIMDASK_PASSWORD``, else a generated one; none with ``--no-password``) is
in its run directory's ``password`` file and this user's credentials files
(0600); it is never printed.
"""

from __future__ import annotations

import argparse
import os
import select
import shlex
import signal
import sys
from pathlib import Path

from .. import config, env
from ..client import Client
from ..errors import SimdaskError
from ..inference.stats import loop_records
from ..protocol.requests import live_loops
from ..store import Store, join_cluster, reap_stale_stores
from ..transport import Address

DEFAULT_RUN_DIR = Path(".simdask") / "store"
_SERVER_CHECK_S = 1.0  # seconds between checks that a foreground store's servers still run
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_STATUS_TIMEOUT_S = 5.0  # seconds `simdask store status` waits for each answer of the store


def register(commands: argparse._SubParsersAction) -> None:
    store = commands.add_parser("store", help="start, stop or check a store")
    actions = store.add_subparsers(dest="action", required=True, metavar="ACTION")

    start = actions.add_parser("start", help="start a store and print its address")
    start.add_argument(
        "--kind",
        choices=("standalone", "unix", "cluster"),
        default="standalone",
        help="one server on TCP (default), one on a Unix socket, or a cluster of --shards servers",
    )
    start.add_argument("--shards", type=int, default=3, help="servers of a cluster store (>= 3)")
    start.add_argument("--host", default="127.0.0.1", help="IP address or interface name to bind to")
    start.add_argument("--port", type=int, help="TCP port (first shard's for a cluster); free port if omitted")
    start.add_argument("--socket", help="Unix socket path (--kind unix)")
    start.add_argument("--maxmemory", help="memory limit per server, e.g. 4gb (writes beyond it fail)")
    start.add_argument("--persist", action="store_true", help="keep an append-only file in the run directory")
    start.add_argument(
        "--no-password",
        action="store_true",
        help=f"no password, even if {env.PASSWORD} is set (loopback or Unix socket only: every local "
        "account can then use the store)",
    )
    start.add_argument(
        "--serve",
        type=int,
        default=0,
        metavar="N",
        help="N serving loops run with the store (a process of its own, log in the run directory): "
        "run_model/run_script need no other inference service",
    )
    start.add_argument(
        "--no-form",
        action="store_true",
        help="--kind cluster: start this node's --shards servers only, for `simdask store join` to form one "
        "cluster of several nodes' servers",
    )
    start.add_argument("--foreground", action="store_true", help="run until interrupted, then stop the store")
    _add_run_dir(start)
    start.set_defaults(run=_start)

    join = actions.add_parser(
        "join", help="form one cluster store of the servers that `store start --no-form` started on several nodes"
    )
    join.add_argument("shard_dirs", nargs="+", type=Path, metavar="SHARD_RUN_DIR", help="each node's run directory")
    join.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the cluster (default 60)")
    _add_run_dir(join)
    join.set_defaults(run=_join)

    stop = actions.add_parser("stop", help="stop the store started in a run directory")
    _add_run_dir(stop)
    stop.set_defaults(run=_stop)

    status = actions.add_parser(
        "status",
        help="say whether the store of a run directory runs: memory and keys per server, serving loops",
    )
    _add_run_dir(status)
    status.set_defaults(run=_status)


def _add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help=f"where the store keeps config, logs and state (default: ./{DEFAULT_RUN_DIR})",
    )


def _reap() -> None:
    reap_stale_stores(timeout=float(config.get("store.shutdown-timeout")))


def _start(args: argparse.Namespace) -> int:
    store = Store(
        args.kind,
        shards=args.shards,
        host=args.host,
        port=args.port,
        socket_path=args.socket,
        password="" if args.no_password else os.environ.get(env.PASSWORD) or None,
        maxmemory=args.maxmemory,
        persist=args.persist,
        run_dir=args.run_dir.resolve(),
        serve=args.serve,
        form=not args.no_form,
    )
    store.start(detach=not args.foreground)
    wakeup = catch_stop_signals() if args.foreground else None
    # Only export lines go to stdout, so that `eval "$(simdask store start)"` works; the password
    # itself stays in its file (this output may be a job's log).
    print(f"simdask store ({args.kind}) running at {store.address}; run directory {store.run_dir}", file=sys.stderr)
    if store.serving is not None:
        print(f"simdask store: {args.serve} serving loops (log {store.serving.log_path})", file=sys.stderr)
    print(f"export {env.ADDRESS}={store.address}", flush=True)
    if store.password_file is not None:
        print(f'export {env.PASSWORD}="$(cat {shlex.quote(str(store.password_file))})"', flush=True)
    return _serve(store, wakeup) if wakeup is not None else 0


def _join(args: argparse.Namespace) -> int:
    password = os.environ.get(env.PASSWORD) or None
    store = join_cluster(args.run_dir.resolve(), args.shard_dirs, password=password, timeout=args.timeout)
    print(f"simdask store (cluster of {store.shards} shards) formed at {store.address}", file=sys.stderr)
    print(f"export {env.ADDRESS}={store.address}", flush=True)
    return 0


def catch_stop_signals() -> int:
    """Make SIGTERM and SIGINT wake a pipe instead of ending the process; the pipe's read end.

    The handlers do nothing themselves: one that did work (set an Event,
    take a lock) could run again in the middle of it, and a job being
    stopped gets SIGTERM twice (to its process group and to each process).
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end)
    for sig in _STOP_SIGNALS:
        signal.signal(sig, lambda *_: None)
    return read_end


def stop_signal(wakeup: int, timeout: float | None = None) -> int | None:
    """Wait at most ``timeout`` seconds (``None``: forever) for a signal of :func:`catch_stop_signals`: SIGINT when
    one was Ctrl-C, else SIGTERM; ``None`` when none came."""
    if not select.select([wakeup], [], [], timeout)[0]:
        return None
    numbers = os.read(wakeup, 256)  # the wakeup fd gets each signal's number, one byte each
    return signal.SIGINT if signal.SIGINT in numbers else signal.SIGTERM


def _serve(store: Store, wakeup: int) -> int:
    """Run until SIGTERM or SIGINT (then stop the store: 0) or until a server dies (1). The store's serving
    loops ending is reported once; the store goes on (run requests then fail at once)."""
    serving_reported = False
    try:
        while not select.select([wakeup], [], [], _SERVER_CHECK_S)[0]:
            dead = [s for s in store.servers if not s.is_alive()]
            if dead:
                print(f"simdask store: the server at {dead[0].address} exited:\n{dead[0].log_tail()}", file=sys.stderr)
                return 1
            if store.serving is not None and not serving_reported and not store.serving.is_alive():
                print(f"simdask store: the serving loops exited; see {store.serving.log_path}", file=sys.stderr)
                serving_reported = True
        return 0
    finally:
        store.stop()
        print("simdask store stopped", file=sys.stderr)


def _stop(args: argparse.Namespace) -> int:
    _reap()
    store = Store.from_run_dir(args.run_dir)
    address = store.address
    store.stop()
    print(f"simdask store at {address} stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    """Each server (memory used and keys when it answers), the store's serving loops, the loops holding a lease in
    the store (where they run, what they served); 0 when the store runs."""
    _reap()
    store = Store.from_run_dir(args.run_dir)
    running = store.is_running()
    client = Client(store.address, password=store.password, connect_timeout=_STATUS_TIMEOUT_S) if running else None
    try:
        for server in store.servers:
            state = "running" if server.is_alive() else "not running"
            print(f"{server.address}  pid {server.pid}  {state}{_usage(client, server.address) if client else ''}")
        if store.serving is not None:
            state = "running" if store.serving.is_alive() else "NOT running"
            print(f"serving loops: {store.serving.loops}  pid {store.serving.pid}  {state}")
        if client is not None:
            _print_loops(client)
    finally:
        if client is not None:
            client.close()
    print(f"store {store.address}: {'running' if running else 'NOT running'}")
    return 0 if running else 1


def _usage(client: Client, node: Address) -> str:
    """``  memory 1.02M  keys 3`` for one server (``INFO memory``, ``DBSIZE``), or why it did not say."""
    transport = client.session.transport
    try:
        with client.session.limit(_STATUS_TIMEOUT_S):
            info = transport.execute_on(node, "INFO", "memory")
            keys = int(transport.execute_on(node, "DBSIZE"))
    except SimdaskError as exc:
        return f"  (no answer: {exc})"
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))
    limit = fields.get("maxmemory_human", "0B").strip()
    memory = fields.get("used_memory_human", "?").strip() + ("" if limit in ("0B", "0") else f" of {limit}")
    return f"  memory {memory}  keys {keys}"


def _print_loops(client: Client) -> None:
    """The serving loops holding a lease in the store (any server's: Dask workers, threads), one line each."""
    try:
        with client.session.limit(_STATUS_TIMEOUT_S):
            names = live_loops(client.session)
            records = loop_records(client.session, names)
    except SimdaskError as exc:
        print(f"serving loops: the store did not say ({exc})")
        return
    if not names:
        print("serving loops with a lease: none (run_model/run_script fail at once)")
        return
    print(f"serving loops with a lease: {len(names)}")
    for name in names:
        record = records.get(name)
        if record is None:
            print(f"  {name}  (has answered nothing yet)")
            continue
        served = sum(record.served.values())
        where = f"on {record.worker}, " if record.worker else ""
        print(f"  {name}  {where}{'GPU' if record.gpu else 'CPU'}, {served} served, {record.errors} errors")
