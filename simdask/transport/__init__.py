"""Talking to the store: addresses, connections, cluster routing."""

from .address import Address, address_from_env, format_addresses, parse_addresses
from .connection import Connection, ErrorReply
from .slots import key_slot
from .transport import Request, Transport

__all__ = [
    "Address",
    "Connection",
    "ErrorReply",
    "Request",
    "Transport",
    "address_from_env",
    "format_addresses",
    "key_slot",
    "parse_addresses",
]
