"""``simdask.Store``: start, check and stop an in-memory store.

Three kinds: ``"standalone"`` (one server on TCP), ``"unix"`` (one server on a
Unix socket only, the co-located case) and ``"cluster"`` (N >= 3 sharded
servers on TCP). The store writes its config files and logs in a run
directory (0700 when simdask creates it), binds to loopback unless told an
interface, never evicts data (``noeviction``: a full store refuses writes),
and persists nothing unless asked.

Every store has a password, so that other accounts of the node cannot use
it (they can connect to any TCP port, loopback included): the one given,
else one generated for it; ``password=""`` opts out, on loopback or a Unix
socket only. It is kept in the run directory's ``password`` file (0600),
handed to launched processes as ``SIMDASK_PASSWORD``, never on a command
line, and written to this user's credentials file of each server address
(:mod:`simdask.transport.credentials`), where clients of the same user find
it without being told; the files go when the store stops.

A store that is not detached dies with the process that started it (see
:mod:`simdask.store.watchdog`), and the temporary run directory of an owner
that died is removed by the next store start or ``simdask store`` command at
the latest.

A store started with ``serve=N`` answers ``run_model``/``run_script`` itself:
N serving loops in a process of its own (:mod:`simdask.store.service`),
started with the servers and stopped with them.
"""

from __future__ import annotations

import atexit
import fcntl
import ipaddress
import os
import random
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import psutil

from .. import config, env
from ..errors import StoreError, StoreStartError
from ..locality import check_node_name, node_name
from ..transport import credentials_file, format_addresses
from .binary import find_server_binary, has_availability_zone
from .cluster import form_cluster
from .display import store_html, store_line
from .files import private_dir, write_private
from .server import ServerConfig, ServerProcess, port_is_free
from .service import ServingProcess
from .state import (
    PASSWORD_FILE,
    STATE_FILE,
    TEMP_PREFIX,
    Owner,
    clean_orphan,
    clear_state,
    in_use,
    read_state,
    reap_stale_stores,
    remove_credentials,
    server_processes,
    write_credentials,
    write_state,
)
from .watchdog import Watchdog, start_watchdog

__all__ = ["Store", "StoreKind", "check_password", "client_env", "needs_password", "resolve_host"]

StoreKind = Literal["standalone", "unix", "cluster"]
_MAX_UNIX_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS
_BUS_OFFSET = 10000
_PORT_ATTEMPTS = 3
_RUNNING: set[Store] = set()  # started here, not detached: stopped at exit


def resolve_host(host: str) -> str:
    """An IP address for ``host``: an IP, a network interface name (``ib0``) or a host name."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    interfaces = psutil.net_if_addrs()
    if host in interfaces:
        for family in (socket.AF_INET, socket.AF_INET6):
            for addr in interfaces[host]:
                if addr.family == family:
                    return str(addr.address).split("%", 1)[0]
        raise StoreError(f"network interface {host!r} has no IP address")
    try:
        return str(socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)[0][4][0])
    except socket.gaierror:
        raise StoreError(
            f"{host!r} is neither an IP address, a network interface ({', '.join(interfaces)}) nor a host name"
        ) from None


def needs_password(kind: str, host: str) -> bool:
    """Whether a store is reachable from other machines (anything but a Unix socket or a loopback address):
    it cannot do without a password.

    >>> needs_password("standalone", "127.0.0.1"), needs_password("standalone", "10.0.0.5")
    (False, True)
    """
    return kind != "unix" and not ipaddress.ip_address(host).is_loopback


def _in_use_message(run_dir: Path, state: dict[str, Any]) -> str:
    """Why a store cannot start in ``run_dir``: the store already there, where it answers and how to stop it."""
    address = state.get("address") or "an address not known yet: it is starting"
    owner = state.get("owner")
    held = f"owned by process {owner['pid']}" if isinstance(owner, dict) else "detached"
    return (
        f"a store already runs in {run_dir} (at {address}, {held}); stop it first with "
        f"`simdask store stop --run-dir {run_dir}`, or use another run directory"
    )


def check_password(password: str) -> str:
    """A password the server's config file can hold between quotes: no quotes, spaces, backslashes or newlines."""
    if any(c in password for c in '"\n\r \\\0'):
        raise ValueError("the store password must not contain quotes, spaces, backslashes or newlines")
    return password


def client_env(address: str, password: str | None) -> dict[str, str]:
    """``SIMDASK_ADDRESS`` (and ``SIMDASK_PASSWORD``) for a process that uses the store at ``address``."""
    variables = {env.ADDRESS: address}
    if password:
        variables[env.PASSWORD] = password
    return variables


def _free_port(host: str, cluster: bool) -> int:
    """A port free on ``host``; for a cluster, one whose bus port (+10000) is free too."""
    for _ in range(200):
        if cluster:
            port = random.randint(20000, 65535 - _BUS_OFFSET)
            if port_is_free(host, port) and port_is_free(host, port + _BUS_OFFSET):
                return port
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                return sock.getsockname()[1]
    raise StoreStartError(f"no free port found on {host}")


class Store:
    """An in-memory store (Valkey/Redis) started and owned by simdask.

    Parameters
    ----------
    kind
        ``"standalone"``, ``"unix"`` or ``"cluster"``.
    shards
        Number of servers of a cluster (>= 3; default 3, or one per node of ``nodes`` when more).
    host
        IP address, interface name or host name to bind to (loopback by default).
    port
        TCP port (first shard's port for a cluster, the others follow); a free
        port when ``None``.
    socket_path
        Unix socket path for ``kind="unix"`` (default: ``<run_dir>/store.sock``).
    password
        Clients must send it. ``None``: one generated for this store
        (``secrets.token_urlsafe(32)``). It is in the run directory's
        ``password`` file and this user's credentials files (0600), where
        this user's clients find it. ``""``: no password, for a store on
        loopback or a Unix socket only; every local account can then read,
        write and delete its data.
    maxmemory
        Memory limit per server (``"4gb"``, bytes); writes beyond it fail with
        :class:`~simdask.errors.StoreFullError` instead of evicting data.
    persist
        Keep an append-only file in the run directory (off by default).
    run_dir
        Where config files and logs go; a temporary directory (removed on
        :meth:`stop`, or after this process died) when ``None``. A run
        directory in which another store runs is refused.
    binary
        Server binary; found as :func:`~simdask.store.find_server_binary` says when ``None``.
    startup_timeout
        Seconds to wait for the servers (and the cluster) to be ready.
    server_config
        Extra server settings, e.g. ``{"io-threads": "2"}``.
    node
        The node the store's servers say they run on
        (:func:`simdask.locality.store_nodes` asks them); default
        :func:`simdask.locality.node_name`.
    form
        ``False``: start a cluster's servers without forming the cluster
        (any number of shards), for :func:`~simdask.store.join_cluster` to
        form one cluster of the servers of several nodes.
    nodes
        A cluster's shards spread over these nodes: shard ``i`` counts as
        running on ``nodes[i % len(nodes)]`` (all still on this machine's
        ``host``): several simulated nodes on one machine, for placement
        by node (``docs/locality.md``). ``Experiment.create_store`` starts
        the shards on the nodes themselves.
    serve
        Serving loops the store runs itself, so that ``run_model`` and
        ``run_script`` need no other inference service (as RedisAI ran models
        inside the database): a process of ``serve`` loops (threads, no Dask;
        GPU models too where the node shows an NVIDIA GPU), logging to
        ``serve.log`` in the run directory. 0 (default): none.
        :class:`~simdask.InferenceServer` on Dask workers is the path that scales.

    Examples
    --------
    >>> with Store() as store:                         # doctest: +SKIP
    ...     client = simdask.Client(store.address)
    """

    def __init__(
        self,
        kind: StoreKind = "standalone",
        *,
        shards: int | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        socket_path: str | Path | None = None,
        password: str | None = None,
        maxmemory: str | int | None = None,
        persist: bool = False,
        run_dir: str | Path | None = None,
        binary: str | Path | None = None,
        startup_timeout: float | None = None,
        server_config: dict[str, str] | None = None,
        serve: int = 0,
        node: str | None = None,
        nodes: Sequence[str] | None = None,
        form: bool = True,
    ) -> None:
        if kind not in ("standalone", "unix", "cluster"):
            raise ValueError(f"kind must be 'standalone', 'unix' or 'cluster', got {kind!r}")
        if nodes is not None and (kind != "cluster" or node is not None or not nodes):
            raise ValueError("nodes=[...] spreads the shards of a cluster store, and replaces node=")
        self.node_names = [check_node_name(n) for n in nodes or [node or node_name()]]
        if shards is None:
            shards = max(3, len(self.node_names))
        if kind == "cluster" and shards < len(self.node_names):
            raise ValueError(f"{len(self.node_names)} nodes need at least as many shards, got {shards}")
        if not form and (kind != "cluster" or serve):
            raise ValueError("form=False is for the servers of a cluster store, without serving loops")
        if kind == "cluster" and form and shards < 3:
            raise ValueError(f"a cluster store needs at least 3 shards, got {shards}")
        if password is not None:
            check_password(password)
        if isinstance(serve, bool) or not isinstance(serve, int) or serve < 0:
            raise ValueError(f"serve must be a number of serving loops >= 0, got {serve!r}")
        self.kind: StoreKind = kind
        self.shards = shards if kind == "cluster" else 1
        self.host = resolve_host(host)
        self.port = port
        if password is None:
            password = secrets.token_urlsafe(32)
        elif not password and needs_password(kind, self.host):  # protected mode would refuse it anyway
            raise ValueError(
                f"a store bound to {self.host} is reachable from other machines and needs a password "
                "(password='' is for stores on loopback or a Unix socket)"
            )
        self.password = password or None
        self.maxmemory = maxmemory
        self.persist = persist
        self.startup_timeout = float(config.get("store.startup-timeout", startup_timeout))
        self.server_config = dict(server_config or {})
        self._binary = binary
        self._own_run_dir = run_dir is None
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._socket_path = str(socket_path) if socket_path is not None else None
        self.servers: list[ServerProcess] = []
        self._started = False
        self._socket_dir: Path | None = None  # a short socket path's folder, when run_dir is too deep
        self._watchdog: Watchdog | None = None
        self.serve = serve
        self.serving: ServingProcess | None = None
        self.form = form

    @property
    def password_file(self) -> Path | None:
        """The run directory's ``password`` file (0600), when the store has a password and has started."""
        if not self.password or self.run_dir is None:
            return None
        return self.run_dir / PASSWORD_FILE

    @property
    def credentials_files(self) -> list[Path]:
        """This user's credentials files of the store's servers (0600), where its clients find the password."""
        return [credentials_file(s.address) for s in self.servers] if self.password else []

    # -- starting ----------------------------------------------------------------

    def start(self, *, detach: bool = False) -> Store:
        """Start the servers and wait until the store is ready; returns ``self``.

        ``detach=True`` puts the servers in their own session and does not stop
        them when this Python process exits (``simdask store start`` uses it).
        Otherwise the servers are stopped, and a temporary run directory
        removed, when this process ends, even killed (:mod:`~simdask.store.watchdog`).
        """
        if self._started:
            raise StoreError(f"store at {self.address} is already started")
        binary = find_server_binary(self._binary)
        reap_stale_stores(timeout=float(config.get("store.shutdown-timeout")))
        starter = Owner.this_process()  # owns the run directory while it starts, detached or not
        self._claim_run_dir(binary, starter)
        owner = None if detach else starter
        try:
            self._start_servers(binary, starter, detach)
            if self.password:
                write_credentials([s.address for s in self.servers], self.password)
            if self.serve:
                self._start_serving(binary, starter, detach)
            if not detach:
                self._start_watchdog()
            self._write_state(binary, owner, "ready")
        except BaseException:
            self._abandon()
            raise
        self._started = True
        if not detach:
            _RUNNING.add(self)
        return self

    def _claim_run_dir(self, binary: Path, starter: Owner) -> None:
        """Create the run directory (0700), or take over a given one unless a live store holds it: checked and
        claimed (a state naming ``starter``) under a lock, so that of two starts at once one is refused."""
        if self.run_dir is None:
            self.run_dir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))  # 0700
        else:
            private_dir(self.run_dir)
            lock = os.open(self.run_dir, os.O_RDONLY)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                state = read_state(self.run_dir)
                if state is not None and in_use(state):
                    raise StoreError(_in_use_message(self.run_dir, state))
                if state is not None:  # a store whose owner died: stop what it left
                    clean_orphan(self.run_dir, state, float(config.get("store.shutdown-timeout")))
                clear_state(self.run_dir)
                self._write_state(binary, starter, "starting")
            finally:
                os.close(lock)  # and with it the lock
        if self.password:
            write_private(self.run_dir / PASSWORD_FILE, self.password)

    def _start_servers(self, binary: Path, owner: Owner, detach: bool) -> None:
        """Spawn the servers (another free port if one was taken meanwhile) and wait until they answer."""
        deadline = time.monotonic() + self.startup_timeout
        for attempt in range(_PORT_ATTEMPTS):
            self.servers = self._plan(binary)
            self._write_state(binary, owner, "starting")
            try:
                for server in self.servers:
                    server.start(detach=detach)
                self._write_state(binary, owner, "starting")  # the pids, for whoever cleans up after a crash
                for server in self.servers:
                    server.wait_ready(deadline)
                break
            except StoreStartError as exc:
                self._stop_servers()
                retry = self.port is None and self.kind != "unix" and "already in use" in str(exc)
                if not retry or attempt == _PORT_ATTEMPTS - 1:
                    raise
        if self.kind == "cluster" and self.form:
            form_cluster(self.servers, deadline)

    def _start_serving(self, binary: Path, owner: Owner, detach: bool) -> None:
        """Start the store's own serving loops and wait until they hold their leases."""
        assert self.run_dir is not None
        deadline = time.monotonic() + self.startup_timeout
        self.serving = ServingProcess(self.serve, self.run_dir, f"store-{secrets.token_hex(4)}")
        self.serving.start(self.address, self.password, [s.pid for s in self.servers if s.pid], detach=detach)
        self._write_state(binary, owner, "starting")  # its pid, for whoever cleans up after a crash
        self.serving.wait_ready(self.address, self.password, deadline)

    def _start_watchdog(self) -> None:
        """What stops the servers and removes the leftovers if this process dies without :meth:`stop`."""
        servers = [(s.pid, s.run_dir) for s in self.servers if s.pid]
        if self.serving is not None and self.serving.pid:
            servers.insert(0, (self.serving.pid, self.serving.run_dir))
        try:
            remove = self._leftovers() + self.credentials_files
            self._watchdog = start_watchdog(servers, remove, float(config.get("store.shutdown-timeout")))
        except OSError as exc:
            raise StoreStartError(f"cannot start the watchdog of the store at {self.address}: {exc}") from None

    @property
    def _temporary(self) -> bool:
        """Whether the run directory goes with the store (simdask made it, and it holds no persisted data)."""
        return self._own_run_dir and not self.persist

    def _leftovers(self) -> list[Path]:
        """What to remove once the store is gone: a temporary run directory, or the state of a kept one."""
        assert self.run_dir is not None
        paths = [self.run_dir] if self._temporary else [self.run_dir / STATE_FILE, self.run_dir / PASSWORD_FILE]
        return paths + ([self._socket_dir] if self._socket_dir else [])

    def _abandon(self) -> None:
        """Undo a start that failed: stop what runs, remove what only this store used."""
        self._stop_serving()
        self._stop_servers()
        self._remove_leftovers()

    def _remove_leftovers(self) -> None:
        if self.password:
            remove_credentials([s.address for s in self.servers], self.password)
        for path in self._leftovers():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self._socket_dir = None

    def _plan(self, binary: Path) -> list[ServerProcess]:
        assert self.run_dir is not None
        base = ServerConfig(
            password=self.password,
            maxmemory=self.maxmemory,
            persist=self.persist,
            extra=self.server_config,
            cluster_node_timeout_ms=int(config.get("store.cluster-node-timeout")),
            node=self.node_names[0],
            zone=has_availability_zone(binary),
        )
        if self.kind == "unix":
            path = self._socket_path or str(self.run_dir / "store.sock")
            if len(path) > _MAX_UNIX_PATH:
                self._socket_dir = Path(tempfile.mkdtemp(prefix="simdask-sock-"))  # 0700
                path = str(self._socket_dir / "store.sock")
            return [ServerProcess(binary, replace(base, host=None, port=0, unix_socket=path), self.run_dir)]
        cluster = self.kind == "cluster"
        if self.port is not None:
            ports = [self.port + i for i in range(self.shards)]
            if cluster and ports[-1] + _BUS_OFFSET > 65535:
                raise StoreStartError(
                    f"cluster ports {ports[0]}-{ports[-1]} leave no room for the cluster bus at port + {_BUS_OFFSET}"
                )
        else:
            ports = []
            while len(ports) < self.shards:
                port = _free_port(self.host, cluster)
                if port not in ports:
                    ports.append(port)
        servers = []
        for i, port in enumerate(ports):
            run_dir = self.run_dir / f"shard-{i}" if cluster else self.run_dir
            node = self.node_names[i % len(self.node_names)]
            conf = replace(base, host=self.host, port=port, cluster=cluster, node=node)
            servers.append(ServerProcess(binary, conf, run_dir))
        return servers

    def _write_state(self, binary: Path, owner: Owner | None, phase: str) -> None:
        assert self.run_dir is not None
        state = {
            "state": phase,
            "kind": self.kind,
            "binary": str(binary),
            "password_required": bool(self.password),
            "owner": {"pid": owner.pid, "started": owner.started} if owner else None,
            "temporary": self._temporary,
            "socket_dir": str(self._socket_dir) if self._socket_dir else None,
            "serving": self.serving.state() if self.serving is not None else None,
            "servers": [
                {
                    "pid": s.pid,
                    "run_dir": str(s.run_dir),
                    "host": s.config.host,
                    "port": s.config.port,
                    "unix_socket": s.config.unix_socket,
                    "node": s.config.node,
                }
                for s in self.servers
            ],
        }
        if phase == "ready":
            state["address"] = self.address
        write_state(self.run_dir, state)

    @classmethod
    def from_run_dir(cls, run_dir: str | Path, *, password: str | None = None) -> Store:
        """The store started earlier in ``run_dir`` (by ``simdask store start``), to check or stop it.

        Its password is ``password``, else the run directory's ``password`` file.
        """
        run_dir = Path(run_dir)
        state = read_state(run_dir)
        if state is None:
            raise StoreError(f"no store state in {run_dir}; was a store started there?")
        if state.get("state") != "ready":
            raise StoreError(f"the store in {run_dir} is still starting")
        if password is None and state.get("password_required"):
            try:
                password = (run_dir / PASSWORD_FILE).read_text()
            except OSError as exc:
                raise StoreError(
                    f"the store in {run_dir} needs a password and its password file is "
                    f"unreadable ({exc}); set {env.PASSWORD}"
                ) from None
        elif not state.get("password_required"):
            password = ""
        store = cls(state["kind"], shards=max(3, len(state["servers"])), run_dir=run_dir, password=password)
        store.shards = len(state["servers"])
        store.servers = server_processes(state, password)
        store.node_names = [s.config.node for s in store.servers if s.config.node] or store.node_names
        if state.get("serving"):
            store.serving = ServingProcess.from_state(state["serving"])
            store.serve = store.serving.loops
        store._socket_dir = Path(state["socket_dir"]) if state.get("socket_dir") else None
        store._own_run_dir = False
        store._started = True
        return store

    # -- using -------------------------------------------------------------------

    @property
    def address(self) -> str:
        """What a client or ``SIMDASK_ADDRESS`` takes to reach this store."""
        if not self.servers:
            raise StoreError("the store has not been started")
        return format_addresses([s.address for s in self.servers])

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point a launched process at this store."""
        return client_env(self.address, self.password)

    def is_running(self) -> bool:
        """Whether every server process is alive and answers PING."""
        if not self.servers:
            return False
        for server in self.servers:
            if not server.is_alive():
                return False
            try:
                if server.call("PING") != "PONG":
                    return False
            except Exception:
                return False
        return True

    # -- stopping ----------------------------------------------------------------

    def stop(self) -> None:
        """Stop the store's serving loops, then every server (by the PID simdask started), and clean up. Idempotent.

        A temporary run directory is removed (unless ``persist``); a given one
        keeps its logs and loses its state and password files.
        """
        self._stop_serving()
        self._stop_servers()
        if self._watchdog is not None:
            self._watchdog.release()
            self._watchdog = None
        _RUNNING.discard(self)
        was_started, self._started = self._started, False
        if self.run_dir is not None and was_started:
            self._remove_leftovers()

    def _stop_serving(self) -> None:
        if self.serving is not None:
            self.serving.stop(timeout=float(config.get("store.shutdown-timeout")))

    def _stop_servers(self) -> None:
        timeout = float(config.get("store.shutdown-timeout"))
        for server in self.servers:
            server.stop(timeout=timeout)

    def __enter__(self) -> Store:
        if not self._started:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return store_line(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: state, address, run directory, memory and keys, serving loops (never the password)."""
        return store_html(self)


@atexit.register
def _stop_running_stores() -> None:
    """Stores started by this process (not detached) do not outlive it."""
    for store in list(_RUNNING):
        store.stop()
