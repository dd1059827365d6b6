"""Form a cluster out of freshly started, empty cluster-enabled servers.

What ``valkey-cli --cluster create --cluster-replicas 0`` does, without
needing the CLI binary: distinct config epochs, contiguous slot ranges,
``CLUSTER MEET``, then wait until every node reports ``cluster_state:ok``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..errors import StoreConnectionError, StoreStartError, StoreTimeoutError
from ..transport.slots import SLOT_COUNT
from .server import ServerProcess

__all__ = ["form_cluster"]


def _slot_ranges(shards: int) -> list[tuple[int, int]]:
    bounds = [round(i * SLOT_COUNT / shards) for i in range(shards + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(shards)]


def _cluster_info(server: ServerProcess) -> dict[str, str]:
    raw = server.call("CLUSTER", "INFO")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def form_cluster(servers: Sequence[ServerProcess], deadline: float, *, local: bool = True) -> None:
    """Assign slots to ``servers``, introduce them to each other, wait until the cluster is ok.

    ``local``: the servers are this node's processes, so one that died is
    noticed at once (else only their answers count, until ``deadline``).
    """
    if len(servers) < 3:
        raise ValueError(f"a cluster needs at least 3 shards, got {len(servers)}")
    first = servers[0].address
    for epoch, (server, (start, end)) in enumerate(zip(servers, _slot_ranges(len(servers))), start=1):
        server.call("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        server.call("CLUSTER", "ADDSLOTSRANGE", start, end)
    for server in servers[1:]:
        server.call("CLUSTER", "MEET", first.host, first.port)
    pending = list(servers)
    while pending:
        server = pending[0]
        if local and not server.is_alive():
            raise StoreStartError(server.death_message())
        try:
            info = _cluster_info(server)
        except (StoreConnectionError, StoreTimeoutError):
            info = {}
        if info.get("cluster_state") == "ok" and info.get("cluster_known_nodes") == str(len(servers)):
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise StoreStartError(
                f"the cluster at {', '.join(str(s.address) for s in servers)} did not become ready "
                f"before the deadline (node {server.address}: {info or 'no answer'})"
            )
        time.sleep(0.02)
