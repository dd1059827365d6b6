"""Launching the in-memory store: find the binary, start/stop standalone, Unix-socket and cluster stores."""

from .binary import find_server_binary
from .server import ServerConfig, ServerProcess
from .state import reap_stale_stores
from .store import Store, StoreKind

__all__ = ["Store", "StoreKind", "ServerConfig", "ServerProcess", "find_server_binary", "reap_stale_stores"]
