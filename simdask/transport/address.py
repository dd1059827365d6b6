"""Store addresses: parse and format what ``SIMDASK_ADDRESS`` holds."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .. import env

__all__ = ["Address", "parse_addresses", "format_addresses", "address_from_env"]


@dataclass(frozen=True, order=True)
class Address:
    """One server endpoint: TCP ``host:port`` or a Unix socket ``path``."""

    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def is_unix(self) -> bool:
        return bool(self.path)

    def __str__(self) -> str:
        if self.path:
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _parse_one(text: str) -> Address:
    text = text.strip()
    if text.startswith("unix://"):
        path = text[len("unix://") :]
        if not path.startswith("/"):
            raise ValueError(f"Unix socket address {text!r} needs an absolute path (unix:///path/to/socket)")
        return Address(path=path)
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid store address {text!r}: expected host:port, [ipv6]:port or unix:///path")
    return Address(host=host, port=int(port))


def parse_addresses(text: str) -> tuple[Address, ...]:
    """Parse ``host:port``, ``unix:///path`` or a comma-separated list of ``host:port``.

    >>> parse_addresses("127.0.0.1:6379,127.0.0.1:6380")[1].port
    6380
    """
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
        raise ValueError("empty store address")
    addresses = tuple(_parse_one(p) for p in parts)
    if len(addresses) > 1 and any(a.is_unix for a in addresses):
        raise ValueError(f"a cluster address list cannot contain Unix sockets: {text!r}")
    return addresses


def format_addresses(addresses: tuple[Address, ...] | list[Address]) -> str:
    """The inverse of :func:`parse_addresses`."""
    return ",".join(str(a) for a in addresses)


def address_from_env(address: str | None) -> str:
    """``address`` if given, else ``SIMDASK_ADDRESS``; a clear error when neither is set."""
    if address:
        return address
    value = os.environ.get(env.ADDRESS, "").strip()
    if not value:
        raise ValueError(
            f"no store address given and {env.ADDRESS} is not set; start a store "
            "(simdask.Store or `simdask store start`) and pass its .address"
        )
    return value
