"""One store server process: its config file, its log, its life.

Every wait has a deadline and notices a server that died; a server is
stopped by the PID simdask started (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..errors import AuthenticationError, StoreConnectionError, StoreStartError, StoreTimeoutError
from ..transport import Address, Connection, ErrorReply
from .files import private_dir, write_private

__all__ = ["ServerConfig", "ServerProcess", "port_is_free"]

_LOG_NAME = "server.log"
_CONF_NAME = "server.conf"


@dataclass(frozen=True)
class ServerConfig:
    """What one server is told in its config file."""

    host: str | None = "127.0.0.1"
    port: int = 0
    unix_socket: str | None = None
    password: str | None = None
    maxmemory: str | int | None = None
    persist: bool = False
    cluster: bool = False
    cluster_node_timeout_ms: int = 5000
    extra: Mapping[str, str] = field(default_factory=dict)
    #: The node the server runs on (:func:`simdask.locality.node_name`): its ``availability-zone`` where the
    #: server has that setting (``zone``), and a cluster shard's ``cluster-announce-hostname``.
    node: str | None = None
    zone: bool = False

    def render(self, run_dir: Path) -> str:
        """The config file's text; a value that could end its line or its quotes is refused."""
        q = _config_value
        lines = [
            "daemonize no",
            f'dir "{q("run directory", run_dir)}"',
            f'logfile "{q("run directory", run_dir / _LOG_NAME)}"',
            f"port {int(self.port)}",
            "maxmemory-policy noeviction",
        ]
        if self.host and self.port:
            lines.append(f"bind {q('host', self.host, quoted=False)}")
        if self.unix_socket:
            lines += [f'unixsocket "{q("socket path", self.unix_socket)}"', "unixsocketperm 700"]
        if self.password:
            lines.append(f'requirepass "{q("password", self.password, secret=True)}"')
            if self.cluster:
                lines.append(f'masterauth "{self.password}"')
        if self.maxmemory is not None:
            lines.append(f"maxmemory {q('maxmemory', self.maxmemory, quoted=False)}")
        if self.persist:
            lines += ["appendonly yes", "appendfsync everysec"]
        else:
            lines += ['save ""', "appendonly no"]
        if self.cluster:
            lines += [
                "cluster-enabled yes",
                f'cluster-config-file "{run_dir / "nodes.conf"}"',
                f"cluster-node-timeout {int(self.cluster_node_timeout_ms)}",
            ]
        if self.node and self.zone:
            lines.append(f'availability-zone "{q("node", self.node)}"')
        if self.node and self.cluster:
            lines.append(f'cluster-announce-hostname "{q("node", self.node)}"')
        lines += [
            f"{q('setting', name, quoted=False)} {q(f'setting {name}', value, quoted=False)}"
            for name, value in self.extra.items()
        ]
        return "\n".join(lines) + "\n"


def _config_value(setting: str, value: object, *, quoted: bool = True, secret: bool = False) -> str:
    """``value`` as text for one config line: no line break or other control character (a new directive).

    A value written between double quotes (``quoted``) cannot hold quotes or
    backslashes either, which would end or escape them. The error shows the
    value unless it is ``secret``.
    """
    text = str(value)
    if any(ord(c) < 32 or ord(c) == 127 for c in text) or quoted and any(c in text for c in '"\\'):
        what = "quotes, backslashes or control characters" if quoted else "control characters (line breaks)"
        raise ValueError(f"the store's {setting} must not contain {what}" + ("" if secret else f": {text!r}"))
    return text


def port_is_free(host: str, port: int) -> bool:
    """Whether a TCP port can be bound on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class ServerProcess:
    """A ``valkey-server``/``redis-server`` started by simdask (or found again by its PID)."""

    def __init__(self, binary: Path, config: ServerConfig, run_dir: Path) -> None:
        self.binary = binary
        self.config = config
        self.run_dir = run_dir
        self._popen: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None

    @classmethod
    def from_pid(cls, pid: int, binary: Path, config: ServerConfig, run_dir: Path) -> ServerProcess:
        """A server started earlier (e.g. by ``simdask store start``), managed by its PID."""
        server = cls(binary, config, run_dir)
        server._pid = pid
        return server

    @property
    def address(self) -> Address:
        if self.config.unix_socket:
            return Address(path=self.config.unix_socket)
        assert self.config.host
        return Address(host=self.config.host, port=self.config.port)

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else self._pid

    @property
    def log_path(self) -> Path:
        return self.run_dir / _LOG_NAME

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def start(self, *, detach: bool = False) -> None:
        """Write the config file (0600: it holds the password) and start the server (does not wait for it).

        The password is in the config file only, never on the command line
        (which every local user can read in ``ps``).
        """
        private_dir(self.run_dir)
        conf = self.run_dir / _CONF_NAME
        write_private(conf, self.config.render(self.run_dir))
        try:
            with open(self.run_dir / "server.stderr", "wb") as stderr:
                self._popen = subprocess.Popen(
                    [str(self.binary), str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    cwd=self.run_dir,
                    start_new_session=detach,
                )
        except OSError as exc:
            raise StoreStartError(f"cannot run the store server {self.binary}: {exc}") from None

    def is_alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        if self._pid is None:
            return False
        try:
            proc = psutil.Process(self._pid)
            return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE and self._is_our_server(proc)
        except psutil.Error:
            return False

    def _is_our_server(self, proc: psutil.Process) -> bool:
        """Guard against a recycled PID: the process must run our binary in our run directory.

        (The server rewrites its command line, so the working directory it was
        started in is what identifies it.)
        """
        try:
            same_dir = Path(proc.cwd()).resolve() == self.run_dir.resolve()
            return same_dir and Path(proc.exe()).resolve() == self.binary.resolve()
        except psutil.Error:
            return False

    def connect(self, timeout: float = 1.0) -> Connection:
        return Connection(self.address, password=self.config.password, connect_timeout=timeout, socket_timeout=timeout)

    def wait_ready(self, deadline: float) -> None:
        """Wait until the server answers PING, it dies, or the deadline passes.

        An error reply other than ``LOADING`` (``DENIED`` by protected mode,
        a refused password) fails at once: waiting would not change it.
        """
        last_error: object = None
        while True:
            if not self.is_alive():
                raise StoreStartError(self.death_message())
            try:
                conn = self.connect(timeout=max(0.05, min(1.0, deadline - time.monotonic())))
                try:
                    reply = conn.call("PING")
                finally:
                    conn.close()
                if reply == "PONG":
                    return
                last_error = reply
                if isinstance(reply, ErrorReply) and not reply.startswith("LOADING"):
                    self.stop(timeout=2.0)
                    raise StoreStartError(f"the store server at {self.address} refused simdask's check: {reply}")
            except AuthenticationError as exc:
                self.stop(timeout=2.0)
                raise StoreStartError(str(exc)) from None
            except (StoreConnectionError, StoreTimeoutError) as exc:
                last_error = exc
            if time.monotonic() > deadline:
                self.stop(timeout=2.0)
                raise StoreStartError(
                    f"the store server at {self.address} did not answer within the start deadline "
                    f"({last_error}); log tail:\n{self.log_tail()}"
                )
            time.sleep(0.01)

    def death_message(self) -> str:
        tail = self.log_tail()
        stderr = self.run_dir / "server.stderr"
        if stderr.exists():
            tail += "\n" + stderr.read_text(errors="replace")[-2000:]
        code = self._popen.returncode if self._popen else None
        if "Address already in use" in tail:
            return f"cannot start the store: {self.address} is already in use; log tail:\n{tail}"
        if "port number too high" in tail.lower():
            return (
                f"cannot start the store at {self.address}: the port leaves no room for the cluster bus "
                "(port + 10000 > 65535)"
            )
        return f"the store server at {self.address} exited on start (code {code}); log tail:\n{tail}"

    def call(self, *command: object) -> object:
        """Run one admin command on this server; raise on an error reply."""
        conn = self.connect(timeout=5.0)
        try:
            reply = conn.call(*command)
        finally:
            conn.close()
        if isinstance(reply, ErrorReply):
            raise StoreStartError(f"{command[0]} {command[1] if len(command) > 1 else ''} at {self.address}: {reply}")
        return reply

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server (it shuts down cleanly), SIGKILL it after ``timeout``."""
        pid = self.pid
        if pid is None or not self.is_alive():
            self._reap()
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return self._reap()
        if not self._wait_exit(timeout):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._wait_exit(5.0)
        self._reap()

    def kill(self) -> None:
        """SIGKILL the server at once (tests use this to simulate a crash)."""
        if self.pid is not None and self.is_alive():
            os.kill(self.pid, signal.SIGKILL)
            self._wait_exit(5.0)
        self._reap()

    def _wait_exit(self, timeout: float) -> bool:
        if self._popen is not None:
            try:
                self._popen.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout  # not our child: poll (a zombie counts as gone)
        while self.is_alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def _reap(self) -> None:
        if self._popen is not None and self._popen.poll() is None:
            self._popen.wait()
        if self.config.unix_socket:
            Path(self.config.unix_socket).unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"<ServerProcess {self.address} pid={self.pid}>"
