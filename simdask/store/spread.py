"""One cluster store over several nodes: each node starts its shards, then one process joins them.

Inside a batch allocation, a cluster store's shards run on every node of its
job (one or more per node) rather than all on one, so that each node holds
part of the data and serves it to the ranks and Dask workers of that node:
each node runs ``simdask store start --kind cluster --no-form`` (its servers,
cluster-enabled, tagged with its node, each in its own run directory), and
``simdask store join`` forms one cluster of them all (:func:`join_cluster`)
and records it in the store's run directory, where clients and experiments
find its address.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import StoreStartError
from .cluster import form_cluster
from .files import private_dir, write_private
from .state import PASSWORD_FILE
from .store import Store

__all__ = ["join_cluster"]


def join_cluster(run_dir: Path, shard_dirs: Sequence[Path], *, password: str | None, timeout: float) -> Store:
    """Form one cluster of the servers started in ``shard_dirs`` (``Store(form=False)`` each, ready) and record
    it in ``run_dir``; returns it (it stops nothing: each node's servers stop with their own process).

    Waits at most ``timeout`` seconds for the cluster to be ready; the servers' answers count, not their
    processes (they run on other nodes).
    """
    deadline = time.monotonic() + timeout
    parts = [Store.from_run_dir(folder, password=password) for folder in shard_dirs]
    servers = [server for part in parts for server in part.servers]
    if len(servers) < 3:
        raise StoreStartError(
            f"a cluster store needs at least 3 shards; {', '.join(map(str, shard_dirs))} have {len(servers)}"
        )
    form_cluster(servers, deadline, local=False)
    nodes = [server.config.node or part.node_names[0] for part in parts for server in part.servers]
    store = Store("cluster", shards=len(servers), nodes=nodes, run_dir=run_dir, password=parts[0].password or "")
    store.servers = servers
    private_dir(run_dir)
    if store.password:
        write_private(run_dir / PASSWORD_FILE, store.password)
    store._write_state(servers[0].binary, None, "ready")  # detached: its servers are the nodes' processes
    return store
