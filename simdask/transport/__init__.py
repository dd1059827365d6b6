"""Talking to the store: addresses, connections, reply readers, cluster routing."""

from .address import Address, address_from_env, format_addresses, parse_addresses
from .connection import Connection, ErrorReply
from .replies import (
    PLACED,
    ChunkReader,
    Placement,
    Reader,
    ValueReader,
    check_transaction,
    read_replies,
    read_reply_list,
    read_value,
)
from .slots import key_slot
from .transport import Request, Transport

__all__ = [
    "PLACED",
    "Address",
    "ChunkReader",
    "Connection",
    "ErrorReply",
    "Placement",
    "Reader",
    "Request",
    "Transport",
    "ValueReader",
    "address_from_env",
    "check_transaction",
    "format_addresses",
    "key_slot",
    "parse_addresses",
    "read_replies",
    "read_reply_list",
    "read_value",
]
