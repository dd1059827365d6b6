"""Talking to the store: addresses, connections, reply readers, cluster routing, deadlines and retries."""

from .address import Address, address_from_env, format_addresses, parse_addresses
from .connection import Connection, ErrorReply
from .deadlines import current_deadline, deadline, time_left
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
from .transport import IDEMPOTENT_COMMANDS, Request, Transport

__all__ = [
    "IDEMPOTENT_COMMANDS",
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
    "current_deadline",
    "deadline",
    "format_addresses",
    "key_slot",
    "parse_addresses",
    "read_replies",
    "read_reply_list",
    "read_value",
    "time_left",
]
