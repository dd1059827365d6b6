"""One socket to one store server, speaking RESP2 without copying bulk data.

Commands go out with ``sendmsg``: small arguments are packed into the RESP
framing, large buffers (tensor data) are handed to the kernel as they are, so
a numpy array is sent without a copy. Replies are parsed from an internal
buffer; a large bulk reply can instead be received straight into a caller's
buffer (:meth:`Connection.readinto`).
"""

from __future__ import annotations

import ipaddress
import os
import select
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from ..errors import AuthenticationError, ProtocolError, StoreConnectionError, StoreTimeoutError, error_from_reply
from .address import Address

__all__ = ["Connection", "ErrorReply", "encode_commands"]

#: Arguments at least this big are sent from their own buffer, not copied.
ZERO_COPY_BYTES = 32 * 1024
_READ_BUFFER = 64 * 1024
_IOV_MAX = 1024  # IOV_MAX on Linux and macOS
#: SO_SNDBUF / SO_RCVBUF by kind of peer; ``None`` leaves the kernel's default.
#: Measured on loopback (benchmarks/bench_socket_buffers.py): a send buffer of
#: ~1 MiB (the kernel doubles the 512 KiB asked) moves chunked 16-64 MiB puts
#: ~1.35-1.45x faster than 8 MiB and ~1.2x faster than TCP autotuning (what is
#: in flight stays in cache); no client receive-buffer size made reads faster. Over a real
#: network TCP autotuning is left alone (an explicit size switches it off, and
#: net.core.wmem_max/rmem_max cap what may be asked).
_SOCKET_BUFFERS: dict[str, dict[int, int | None]] = {
    "unix": {socket.SO_SNDBUF: 512 * 1024, socket.SO_RCVBUF: None},
    "tcp-loopback": {socket.SO_SNDBUF: 512 * 1024, socket.SO_RCVBUF: None},
    "tcp": {socket.SO_SNDBUF: None, socket.SO_RCVBUF: None},
}


def _peer_kind(sock: socket.socket) -> str:
    if sock.family == socket.AF_UNIX:
        return "unix"
    try:
        return "tcp-loopback" if ipaddress.ip_address(sock.getpeername()[0]).is_loopback else "tcp"
    except (OSError, ValueError):
        return "tcp"


def _no_password_set(reply: str) -> bool:
    """Whether an error reply to ``AUTH`` says that the server has no password (Valkey, Redis >= 6, older Redis)."""
    return "without any password configured" in reply or "no password is set" in reply


class ErrorReply(str):
    """A server error reply (the text after ``-``), returned rather than raised in pipelines."""

    @property
    def redirect(self) -> tuple[str, Address] | None:
        """``("MOVED"|"ASK", node address)`` for cluster redirections, else ``None``."""
        parts = self.split(" ")
        if len(parts) == 3 and parts[0] in ("MOVED", "ASK"):
            host, _, port = parts[2].rpartition(":")
            return parts[0], Address(host=host.strip("[]"), port=int(port))
        return None


def _arg_bytes(arg: Any) -> bytes | memoryview:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, int):
        return str(arg).encode()
    if isinstance(arg, float):
        return repr(arg).encode()
    return memoryview(arg).cast("B")


def encode_commands(commands: Iterable[Sequence[Any]]) -> list[bytes | memoryview]:
    """RESP-encode commands into buffers for ``sendmsg``; large arguments are not copied.

    An argument may be a tuple of buffers: they are sent as one value (e.g. a
    tensor's header followed by its data), each from where it lies.
    """
    out: list[bytes | memoryview] = []
    frame = bytearray()
    for command in commands:
        frame += b"*%d\r\n" % len(command)
        for arg in command:
            # fast path for the common small arguments (exact types only: bool,
            # str and int subclasses take the general path below)
            kind = type(arg)
            if kind is str:
                arg, kind = arg.encode(), bytes
            elif kind is int:
                arg, kind = b"%d" % arg, bytes
            if kind is bytes and len(arg) < ZERO_COPY_BYTES:
                frame += b"$%d\r\n" % len(arg)
                frame += arg
                frame += b"\r\n"
                continue
            pieces = [_arg_bytes(p) for p in arg] if isinstance(arg, tuple) else [_arg_bytes(arg)]
            sizes = [len(p) if isinstance(p, bytes) else p.nbytes for p in pieces]
            frame += b"$%d\r\n" % sum(sizes)
            for piece, size in zip(pieces, sizes):
                if size >= ZERO_COPY_BYTES:
                    out.append(bytes(frame))
                    out.append(piece)
                    frame = bytearray()
                else:
                    frame += piece
            frame += b"\r\n"
    if frame:
        out.append(bytes(frame))
    return out


class Connection:
    """A connected, authenticated socket to one server.

    Every send and read waits at most the I/O timeout (``socket_timeout``)
    and, while a deadline is set (:meth:`set_limits`), at most what is left
    of it. Connecting, ``AUTH`` included, takes at most ``connect_timeout``
    (and what is left of ``deadline``).

    A ``password`` read from a credentials file (``password_file``) is
    optional: a server that has no password (a stale file) is used without
    it. Any other refused password is an :class:`AuthenticationError`.

    Not thread-safe: a :class:`~simdask.transport.Transport` hands each
    connection to one thread at a time.
    """

    _connecting = False  # AUTH is being answered: a timeout is the connect timeout's
    _by_deadline = False  # the socket's timeout is what is left of the deadline, not the I/O timeout

    def __init__(
        self,
        address: Address,
        *,
        password: str | None = None,
        password_file: str | None = None,
        connect_timeout: float | None = 10.0,
        socket_timeout: float | None = None,
        deadline: float | None = None,
    ) -> None:
        self.address = address
        self.pid = os.getpid()
        self.broken = False
        #: Bytes handed to the kernel / received so far: whether a failed request reached the server.
        self.bytes_sent = 0
        self.bytes_received = 0
        self._buf = bytearray(_READ_BUFFER)
        self._view = memoryview(self._buf)
        self._start = 0
        self._end = 0
        self._socket_timeout = socket_timeout
        self._io_timeout = socket_timeout
        self._deadline: float | None = None
        self._applied: float | None = -1.0  # the timeout the socket has now (-1: not yet set)
        if connect_timeout is not None:  # connecting ends within connect_timeout, AUTH's answer included
            connect_deadline = time.monotonic() + connect_timeout
            deadline = connect_deadline if deadline is None else min(deadline, connect_deadline)
        self._sock = self._connect(deadline)
        self._poller: Any = None
        if password:
            self._deadline, self._connecting = deadline, True
            try:
                reply = self.call("AUTH", password)
            finally:
                self._deadline, self._connecting = None, False
            if isinstance(reply, ErrorReply) and not (password_file and _no_password_set(reply)):
                self.close()
                source = f" of the credentials file {password_file} (an earlier store's?)" if password_file else ""
                raise AuthenticationError(f"the store at {address} refused the password{source}: {reply}")

    def _connect(self, deadline: float | None) -> socket.socket:
        address = self.address
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if timeout is not None and timeout <= 0:
            raise StoreTimeoutError(f"no time left to connect to the store at {address} (the call's deadline passed)")
        try:
            if address.is_unix:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(address.path)
            else:
                sock = socket.create_connection((address.host, address.port), timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option, size in _SOCKET_BUFFERS[_peer_kind(sock)].items():
                if size:
                    sock.setsockopt(socket.SOL_SOCKET, option, size)
        except TimeoutError:
            after = "" if timeout is None else f" after {timeout:.3g} s"
            raise StoreTimeoutError(f"connecting to the store at {address} timed out{after}") from None
        except OSError as exc:
            raise StoreConnectionError(f"cannot connect to the store at {address}: {exc.strerror or exc}") from None
        return sock

    # -- time limits -------------------------------------------------------------

    def set_limits(self, io_timeout: float | None, deadline: float | None) -> None:
        """Limits of the next request: ``io_timeout`` per send or read, and an overall ``deadline``
        (``time.monotonic()``); :meth:`reset_limits` goes back to the connection's own I/O timeout."""
        self._io_timeout = io_timeout
        self._deadline = deadline

    def reset_limits(self) -> None:
        self._io_timeout = self._socket_timeout
        self._deadline = None

    def _arm(self) -> None:
        """Give the socket what is left of the limits before it blocks."""
        timeout = self._io_timeout
        self._by_deadline = False
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                self._by_deadline = True
                self._fail(TimeoutError(), "waiting for")
            if timeout is None or left < timeout:
                timeout, self._by_deadline = left, True
        if timeout != self._applied:
            self._sock.settimeout(timeout)
            self._applied = timeout

    def is_idle_usable(self) -> bool:
        """Whether a pooled connection can take a request: the server has not closed it (a restart, an
        idle timeout) and nothing unread waits on it. One ``poll`` of the socket, no data sent."""
        if self.broken or self._start != self._end:
            return False
        try:
            if self._poller is None:
                self._poller = select.poll()
                self._poller.register(self._sock, select.POLLIN | select.POLLPRI)
            # an idle RESP2 connection has nothing to read: EOF, a reset or stray bytes all show as readable
            return not self._poller.poll(0)
        except (OSError, ValueError, AttributeError):  # AttributeError: no poll() (Windows)
            return False

    # -- sending ---------------------------------------------------------------

    def send(self, commands: Iterable[Sequence[Any]]) -> None:
        """Send commands (pipelined) without waiting for replies."""
        self.send_buffers(encode_commands(commands))

    def send_buffers(self, buffers: list[bytes | memoryview]) -> None:
        """Write all ``buffers`` with as few ``sendmsg`` calls as the kernel allows."""
        views = [memoryview(b) for b in buffers]
        i = 0
        try:
            while i < len(views):
                self._arm()
                sent = self._sock.sendmsg(views[i : i + _IOV_MAX])
                self.bytes_sent += sent
                while sent:
                    size = views[i].nbytes
                    if sent >= size:
                        sent -= size
                        i += 1
                    else:
                        views[i] = views[i][sent:]
                        sent = 0
                while i < len(views) and views[i].nbytes == 0:
                    i += 1
        except BaseException as exc:
            self._fail(exc, "sending to")

    # -- receiving -------------------------------------------------------------

    def _fill(self) -> None:
        """Receive more bytes into the internal buffer."""
        if self._start == self._end:
            self._start = self._end = 0
        elif self._end == len(self._buf):
            pending = bytes(self._view[self._start : self._end])
            if len(pending) > len(self._buf) // 2:
                self._buf = bytearray(2 * len(self._buf))
                self._view = memoryview(self._buf)
            self._buf[: len(pending)] = pending
            self._start, self._end = 0, len(pending)
        try:
            self._arm()
            n = self._sock.recv_into(self._view[self._end :])
        except BaseException as exc:
            self._fail(exc, "receiving from")
        if n == 0:
            self._fail(ConnectionResetError("connection closed by the server"), "receiving from")
        self.bytes_received += n
        self._end += n

    def _readline(self) -> bytes:
        while True:
            i = self._buf.find(b"\r\n", self._start, self._end)
            if i >= 0:
                line = bytes(self._view[self._start : i])
                self._start = i + 2
                return line
            self._fill()

    def read_exact(self, size: int) -> bytes:
        """The next ``size`` bytes of the stream."""
        while self._end - self._start < size:
            if size > len(self._buf) - self._start:
                out = bytearray(size)
                self.readinto(memoryview(out))
                return bytes(out)
            self._fill()
        data = bytes(self._view[self._start : self._start + size])
        self._start += size
        return data

    def readinto(self, target: memoryview) -> None:
        """Fill ``target`` (a writable byte view) with the next bytes of the stream."""
        size = target.nbytes
        have = min(size, self._end - self._start)
        if have:
            target[:have] = self._view[self._start : self._start + have]
            self._start += have
        pos = have
        try:
            while pos < size:
                self._arm()
                n = self._sock.recv_into(target[pos:])
                if n == 0:
                    raise ConnectionResetError("connection closed by the server")
                self.bytes_received += n
                pos += n
        except BaseException as exc:
            self._fail(exc, "receiving from")

    def skip(self, size: int) -> None:
        """Discard the next ``size`` bytes of the stream."""
        while size:
            if self._start == self._end:
                self._fill()
            step = min(size, self._end - self._start)
            self._start += step
            size -= step

    def expect_crlf(self) -> None:
        if self.read_exact(2) != b"\r\n":
            self._fail(ProtocolError("bulk reply not terminated by CRLF"), "reading from")

    def read_bulk_length(self) -> int | ErrorReply:
        """Read the ``$<n>`` line of a bulk reply: ``n`` (-1 for nil), or the error reply."""
        line = self._readline()
        kind = line[:1]
        if kind == b"$":
            return int(line[1:])
        if kind == b"-":
            return ErrorReply(line[1:].decode("utf-8", "replace"))
        self._fail(ProtocolError(f"expected a bulk reply, got {line[:40]!r}"), "reading from")

    def read_reply(self) -> Any:
        """Read one reply: str (status), int, bytes or None (bulk), list, or :class:`ErrorReply`."""
        line = self._readline()
        kind, rest = line[:1], line[1:]
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.read_exact(size)
            self.expect_crlf()
            return data
        if kind == b"+":
            return rest.decode("utf-8", "replace")
        if kind == b":":
            return int(rest)
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self.read_reply() for _ in range(size)]
        if kind == b"-":
            return ErrorReply(rest.decode("utf-8", "replace"))
        self._fail(ProtocolError(f"unexpected reply {line[:40]!r}"), "reading from")

    def call(self, *args: Any) -> Any:
        """Send one command and return its reply (error replies are returned, not raised)."""
        self.send((args,))
        return self.read_reply()

    def check(self, *args: Any) -> Any:
        """Send one command; raise the matching :mod:`simdask.errors` class on an error reply."""
        reply = self.call(*args)
        if isinstance(reply, ErrorReply):
            raise error_from_reply(reply, f"{args[0]} at {self.address}")
        return reply

    # -- lifetime --------------------------------------------------------------

    def set_timeout(self, timeout: float | None) -> None:
        """Replace the I/O timeout of the next requests (:meth:`reset_limits` restores the connection's own)."""
        self._io_timeout = timeout

    def _fail(self, exc: BaseException, doing: str) -> NoReturn:
        self.close()
        if isinstance(exc, (StoreConnectionError, StoreTimeoutError)):
            raise exc
        if isinstance(exc, socket.timeout):
            if self._by_deadline:
                what = "connecting" if self._connecting else "the call"
                raise StoreTimeoutError(
                    f"the store at {self.address} did not answer within the time limit of {what}"
                ) from None
            raise StoreTimeoutError(f"the store at {self.address} did not answer within {self._applied:g} s") from None
        if isinstance(exc, OSError):
            raise StoreConnectionError(
                f"connection lost while {doing} the store at {self.address}: {exc.strerror or exc}"
            ) from None
        raise exc

    def close(self) -> None:
        self.broken = True
        try:
            self._sock.close()
        except OSError:
            pass

    def __repr__(self) -> str:
        return f"<Connection {self.address}{' broken' if self.broken else ''}>"
