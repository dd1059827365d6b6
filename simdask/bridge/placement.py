"""Where the tasks that read a dataset's blocks run: on a Dask worker of the node that holds their keys.

When a store's data sit on several nodes (co-located stores, one per node,
or a cluster whose shards are spread over the nodes of an allocation) and
Dask workers run on the same nodes, reading a block where its keys are
moves the data over the node's loopback or Unix socket instead of the
network. A dataset's graph says so per task, as Dask annotations:
``workers=[the workers of that node]`` and ``allow_other_workers=True``, so
that a task whose node has no worker (or whose workers are busy or gone)
still runs elsewhere. The setting ``simdask.bridge.placement: false`` turns
it off. Nothing is annotated without a distributed
:class:`~distributed.Client` (the local schedulers have one machine), when
all workers are on one node, nor where no worker shares a node with the data.

Dask's low-level task fusion (``optimization.fuse.active``, on for arrays)
drops every annotation of the graph it fuses. So once a dataset's tasks are
placed, this process's array graphs are optimised by :func:`optimize`:
dask's own optimisation, without the low-level fusion for graphs that carry
annotations (unfused, each block is one more task). It travels with the
graph, so a scheduler in another process applies it too. A process that
set its own ``array_optimize`` keeps it (and its placement may be lost).

A worker's node is :func:`simdask.locality.node_name` run in the worker
(``SIMDASK_NODE`` in its environment, else its short host name), asked once
per set of workers; a store's is what its servers say
(:func:`simdask.locality.store_nodes`), asked when a dataset is opened.
"""

from __future__ import annotations

import collections
import pickle
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from .. import config
from ..locality import node_name, store_nodes
from ..transport import Transport
from .layout import Block
from .recipe import ClientRecipe

if TYPE_CHECKING:
    import distributed
    from dask.highlevelgraph import Layer

__all__ = ["active_client", "block_node", "optimize", "place", "place_blocks", "worker_nodes"]

_WORKER_NODES: dict[tuple[str, frozenset[str]], dict[str, tuple[str, ...]]] = {}
_LOCK = threading.Lock()
_CACHED_CLUSTERS = 16  # worker sets remembered (a cluster that scales has a new set each time)
#: Seconds the workers are given to say their node; when they do not answer in time, nothing is placed.
ASK_TIMEOUT_S = 10.0


def active_client() -> distributed.Client | None:
    """The distributed client dask computes with now, if any and placement is on (``simdask.bridge.placement``);
    ``distributed`` is not imported for this."""
    if "distributed" not in sys.modules or not config.get("bridge.placement"):
        return None
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:
        return None
    return client if client.status == "running" else None


def worker_nodes(client: distributed.Client) -> dict[str, tuple[str, ...]]:
    """``{node: (worker address, ...)}`` of a Dask cluster's workers, each asked its node once (cached per set
    of workers, so a cluster that scales is asked again)."""
    workers = frozenset(client.scheduler_info(n_workers=-1)["workers"])
    cache_key = (str(client.scheduler.address), workers)
    found = _WORKER_NODES.get(cache_key)
    if found is None:
        by_node: dict[str, list[str]] = collections.defaultdict(list)
        try:
            answers = client.run(node_name, workers=sorted(workers), on_error="ignore", callback_timeout=ASK_TIMEOUT_S)
        except TimeoutError:  # a worker too busy to answer: place nothing, compute as Dask decides
            return {}
        for worker, node in answers.items():
            if isinstance(node, str):  # a worker that left meanwhile answers with its error
                by_node[node].append(worker)
        found = {node: tuple(sorted(ws)) for node, ws in by_node.items()}
        with _LOCK:
            if len(_WORKER_NODES) >= _CACHED_CLUSTERS:
                _WORKER_NODES.pop(next(iter(_WORKER_NODES)))
            _WORKER_NODES[cache_key] = found
    return found


def block_node(block: Block, transport: Transport, nodes: Mapping[str, str | None]) -> str | None:
    """The node that holds most of a block's keys (``nodes``: :func:`~simdask.locality.store_nodes` of the
    block's store); ``None`` when no server of it says."""
    if not transport.is_cluster:
        return next(iter(nodes.values()), None)
    counts = collections.Counter(nodes.get(str(transport.node_for(key))) for key in block.keys if key is not None)
    counts.pop(None, None)
    return counts.most_common(1)[0][0] if counts else None


def place(layer: Layer, node_of_task: Mapping[Any, str | None], client: distributed.Client) -> bool:
    """Annotate the tasks of ``layer`` to run on a worker of their node (any worker when it has none).

    Returns whether any task was placed.
    """
    workers = worker_nodes(client)
    if len(workers) < 2:  # every worker on one node (or none): no choice to make, the graph stays as it was
        return False
    chosen = {key: list(workers[node]) for key, node in node_of_task.items() if node in workers}
    if not chosen:
        return False
    _keep_annotations()
    annotations: dict[str, Any] = dict(layer.annotations or {})
    annotations.update(workers=chosen.get, allow_other_workers=True)  # per key: a callable (dask's convention)
    layer.annotations = annotations
    return True


def optimize(dsk: Any, keys: Any, **kwargs: Any) -> Any:
    """:func:`dask.array.optimization.optimize`, without low-level fusion when a layer of ``dsk`` carries
    annotations (that fusion returns a plain dict: every annotation would be lost)."""
    import dask
    from dask.array.optimization import optimize as array_optimize
    from dask.highlevelgraph import HighLevelGraph

    if isinstance(dsk, HighLevelGraph) and any(layer.annotations for layer in dsk.layers.values()):
        with dask.config.set({"optimization.fuse.active": False}):
            return array_optimize(dsk, keys, **kwargs)
    return array_optimize(dsk, keys, **kwargs)


def _keep_annotations() -> None:
    """Make :func:`optimize` this process's array optimisation, unless one is set already."""
    import dask

    if dask.config.get("array_optimize", None) is None:
        dask.config.set({"array_optimize": optimize})


def place_blocks(layer: Layer, recipe: ClientRecipe, blocks: Mapping[tuple[int, ...], Block]) -> None:
    """The hook of :func:`simdask.open_dataset`: each block task ``(name, *index)`` of ``layer`` runs on a
    worker of the node of its keys, when a distributed client is active."""
    client = active_client()
    if client is None or not blocks:
        return
    if len(worker_nodes(client)) < 2:
        return
    # a client of its own: the recipe's client is for the processes that read the blocks (the workers)
    with pickle.loads(recipe.__getstate__()) as store:
        transport = store.session.transport
        nodes = store_nodes(transport)
        if not any(nodes.values()):
            return
        keys = cast("list[tuple[Any, ...]]", list(layer))  # (name, *block index)
        node_of = {key: block_node(blocks[key[1:]], transport, nodes) for key in keys}
    place(layer, node_of, client)
