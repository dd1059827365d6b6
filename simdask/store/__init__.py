"""Launching the in-memory store: find the binary, start/stop standalone, Unix-socket and cluster stores
(a cluster's shards on one node or spread over several)."""

from .binary import find_server_binary
from .server import ServerConfig, ServerProcess
from .spread import join_cluster
from .state import reap_stale_stores
from .store import Store, StoreKind

__all__ = [
    "Store",
    "StoreKind",
    "ServerConfig",
    "ServerProcess",
    "find_server_binary",
    "join_cluster",
    "reap_stale_stores",
]
