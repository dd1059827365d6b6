"""Credentials files: how a client finds the password of a store its own user started.

Every store simdask starts has a password. It writes that password to one
file per server address in a folder of its user's (``SIMDASK_CREDENTIALS_DIR``,
else ``~/.simdask/credentials``; 0700, each file 0600) and removes them when it
stops; a client of the same user given no password reads the file of the
address it connects to. Other accounts can read neither.

A file is named by the FNV-1a 64-bit hash (16 lowercase hex digits) of the
address as :class:`~simdask.transport.Address` writes it (``127.0.0.1:6379``,
``[::1]:6379``, ``unix:///path/store.sock``); an address that only means
something on this node (a Unix socket, a loopback IP) is prefixed by the
node's host name and a space, so nodes that share a home folder keep theirs
apart. It holds the password on one line. The C client computes the same
name (``client_c/src/credentials.c``); ``docs/protocol.md`` ("Addresses")
states the rule.

A file is trusted only if it is a regular file (not a symlink), owned by
this user and neither readable nor writable by anyone else; others are
skipped with a warning.

>>> credentials_name(Address(host="10.0.0.5", port=6379))
'7fb3776159c2d532'
"""

from __future__ import annotations

import ipaddress
import logging
import os
import pwd
import socket
import stat
from pathlib import Path

from .. import env
from .address import Address, parse_addresses

__all__ = ["credentials_dir", "credentials_file", "credentials_name", "fnv1a64", "find_password", "read_password"]

log = logging.getLogger("simdask.transport")

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MAX_BYTES = 4096  # no password is longer; a longer file is no credentials file


def fnv1a64(data: bytes) -> int:
    """The 64-bit FNV-1a hash of ``data``.

    >>> hex(fnv1a64(b""))
    '0xcbf29ce484222325'
    """
    h = _FNV_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def credentials_dir() -> Path:
    """``SIMDASK_CREDENTIALS_DIR`` if set, else ``~/.simdask/credentials`` (``$HOME``, else the account's
    home folder); :class:`RuntimeError` when neither is known."""
    value = os.environ.get(env.CREDENTIALS_DIR, "").strip()
    if value:
        return Path(value)
    home = os.environ.get("HOME")
    if not home:
        try:
            home = pwd.getpwuid(os.getuid()).pw_dir
        except KeyError:
            raise RuntimeError("no home folder: HOME is not set and the account has none") from None
    return Path(home) / ".simdask" / "credentials"


def _node_local(address: Address) -> bool:
    """Whether ``address`` names a server of this node only: a Unix socket or a loopback IP."""
    if address.is_unix:
        return True
    try:
        ip = ipaddress.ip_address(address.host)
    except ValueError:
        return False  # a host name: the same on every node
    return ip.is_loopback if ip.version == 4 else ip == ipaddress.IPv6Address("::1")


def credentials_name(address: Address) -> str:
    """The file name of ``address``'s credentials (the module's docstring says how it is made)."""
    text = str(address)
    if _node_local(address):
        text = f"{socket.gethostname()} {text}"
    return f"{fnv1a64(text.encode()):016x}"


def credentials_file(address: Address) -> Path:
    """Where the password of the store server at ``address`` is, if this user started it."""
    return credentials_dir() / credentials_name(address)


def read_password(path: Path) -> str | None:
    """The password in the credentials file ``path``; ``None`` when there is none or it is not to be trusted."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a symlink
        log.warning("ignoring the credentials file %s: %s", path, exc.strerror or exc)
        return None
    try:
        info = os.fstat(fd)
        why = None
        if not stat.S_ISREG(info.st_mode):
            why = "not a regular file"
        elif info.st_uid != os.getuid():
            why = "owned by another user"
        elif info.st_mode & 0o077:
            why = f"group or others may access it (mode {stat.S_IMODE(info.st_mode):o}; chmod 600 it)"
        if why:
            log.warning("ignoring the credentials file %s: %s", path, why)
            return None
        data = os.read(fd, _MAX_BYTES + 1)
    finally:
        os.close(fd)
    password = data.decode("utf-8", "replace").strip()
    if not password or len(data) > _MAX_BYTES or any(c.isspace() or c == "\0" for c in password):
        log.warning("ignoring the credentials file %s: it does not hold one password on one line", path)
        return None
    return password


def find_password(address: str) -> tuple[str, Path] | None:
    """The password (and its file) of the first server of ``address`` that has a credentials file, else ``None``.

    ``address`` is what a client connects to: one server or a cluster list.
    """
    servers = parse_addresses(address)
    try:
        credentials_dir()
    except RuntimeError:
        return None  # no home folder: no credentials files
    for server in servers:
        path = credentials_file(server)
        password = read_password(path)
        if password is not None:
            return password, path
    return None
