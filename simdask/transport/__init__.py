"""Talking to the store: addresses, credentials, connections, reply readers, cluster routing, deadlines, retries."""

from .address import Address, address_from_env, format_addresses, parse_addresses
from .connection import Connection, ErrorReply
from .credentials import credentials_dir, credentials_file, find_password
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
    "credentials_dir",
    "credentials_file",
    "current_deadline",
    "deadline",
    "find_password",
    "format_addresses",
    "key_slot",
    "parse_addresses",
    "read_replies",
    "read_reply_list",
    "read_value",
    "time_left",
]
