"""One dataset over several stores: co-located stores (one per node), each block read from its own store.

The simulation's ranks on each node write to their node's store, so the
keys of one run are spread over the stores; each key is in one of them.
:func:`open_colocated` finds them all, lays them out as one Dataset (as
:func:`~simdask.open_dataset` does for one store), and reads each block
from the store that holds its keys, on a Dask worker of that store's node
when there is one (:mod:`simdask.bridge.placement`).
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..client import Client
from ..errors import KeyNotFoundError, TensorMismatchError
from ..locality import store_nodes
from .catalog import Catalog, Entry
from .dataset import assemble, layout_of
from .layout import Block, Chunks, Layout, Missing, VariableLayout
from .loading import load_block
from .placement import active_client, block_node, place
from .recipe import ClientRecipe, connected

if TYPE_CHECKING:
    import dask.array
    import xarray

__all__ = ["load_from_stores", "open_colocated"]


def load_from_stores(recipes: Sequence[ClientRecipe], owners: Sequence[int | None], block: Block) -> np.ndarray:
    """A block whose keys are in several stores (``owners``: each key's store, ``None`` for a gap): each
    store's keys read in one round trip, as :func:`~simdask.bridge.loading.load_block` reads them."""
    out = np.empty(block.grid + block.shape, block.out_dtype)
    cells = out.reshape((-1, *block.shape))
    if None in owners:
        cells[[i for i, o in enumerate(owners) if o is None]] = np.nan
    row_major: tuple[Literal["C", "F"], ...] = ("C",)
    orders = block.orders or row_major * len(block.keys)
    parts = block.parts or (None,) * len(block.keys)
    for store in sorted({o for o in owners if o is not None}):
        at = [i for i, o in enumerate(owners) if o == store]
        sub = replace(
            block,
            keys=tuple(block.keys[i] for i in at),
            grid=(len(at),),
            orders=tuple(orders[i] for i in at),
            parts=tuple(parts[i] for i in at),
        )
        cells[at] = load_block(recipes[store], sub).reshape((-1, *block.shape))
    return out


def _owners(catalogs: Sequence[Catalog]) -> tuple[list[Entry], dict[str, int]]:
    """Every store's matching tensors and the store of each key; a key in two stores is refused."""
    entries: list[Entry] = []
    owner: dict[str, int] = {}
    for i, catalog in enumerate(catalogs):
        for entry in catalog.refresh():
            if entry.key in owner:
                first = catalogs[owner[entry.key]].client.address
                raise TensorMismatchError(
                    f"tensor {entry.key!r} is in two of the stores ({first} and {catalog.client.address}): "
                    "co-located stores must hold different keys (name them by rank)"
                )
            owner[entry.key] = i
            entries.append(entry)
    if not entries:
        where = ", ".join(c.client.address for c in catalogs)
        raise KeyNotFoundError(
            f"no tensor in the stores at {where} matches the key template {catalogs[0].template.template!r}"
        )
    return entries, owner


class _Reader:
    """How each block of a layout is read (from which store) and where (which node)."""

    def __init__(self, clients: Sequence[Client], owner: Mapping[str, int]) -> None:
        self.recipes = [ClientRecipe(c) for c in clients]
        self.transports = [c.session.transport for c in clients]
        self.owner = owner
        self.client = active_client()
        self.nodes = [store_nodes(t) for t in self.transports] if self.client is not None else []

    def task(self, block: Block) -> tuple[tuple[Any, ...], str | None]:
        """The block's task and its node (``None``: anywhere)."""
        owners = tuple(self.owner.get(k) if k is not None else None for k in block.keys)
        counts = collections.Counter(o for o in owners if o is not None)
        main = counts.most_common(1)[0][0] if counts else 0
        node = block_node(block, self.transports[main], self.nodes[main]) if self.nodes else None
        if len(counts) > 1:
            return (load_from_stores, tuple(self.recipes), owners, block), node
        return (load_block, self.recipes[main], block), node

    def array(self, variable: VariableLayout, token: str) -> dask.array.Array:
        import dask.array as da
        from dask.highlevelgraph import HighLevelGraph

        name = f"simdask-{variable.name}-{token}"
        layer: dict[Any, Any] = {}
        node_of: dict[Any, str | None] = {}
        for index, block in variable.blocks.items():
            key = (name, *index)
            layer[key], node_of[key] = self.task(block)
        graph = HighLevelGraph.from_collections(name, layer, dependencies=())
        if self.client is not None:
            place(graph.layers[name], node_of, self.client)
        meta = np.empty((0,) * len(variable.dims), dtype=variable.dtype)
        return da.Array(graph, name, chunks=variable.chunks, dtype=variable.dtype, meta=meta)

    def dataset(self, layout: Layout) -> xarray.Dataset:
        return assemble(layout, self.array)


def open_colocated(
    template: str,
    stores: Sequence[str | Client],
    *,
    concat: Mapping[str, str | int] | None = None,
    chunks: Chunks | None = None,
    missing: Missing = "raise",
    name: str | None = None,
    run: int | str | None = None,
) -> xarray.Dataset:
    """:func:`~simdask.open_dataset` over several stores: the tensors ``template`` matches in any of them,
    as one lazy Dataset.

    Made for co-located stores (one per node, ``Experiment.create_store(kind="colocated")``), whose ranks
    write different keys (say ``rank{rank:d}/...``). Each block is read from the store that holds its keys
    (a block whose keys are in several stores reads each store's in one round trip), and, when a
    distributed Client is active, on a Dask worker of that store's node, or any worker when the node has
    none (``docs/locality.md``).

    Parameters
    ----------
    template
        Key names with fields, as :func:`~simdask.open_dataset` takes them.
    stores
        The stores: addresses or :class:`~simdask.Client` objects (whose key prefixes apply).
    concat, chunks, missing, name, run
        As :func:`~simdask.open_dataset` takes them; ``run`` is looked up in each store.

    Raises
    ------
    KeyNotFoundError
        No store holds a matching tensor, or keys are missing (``missing="raise"``).
    TensorMismatchError
        A key is in two stores, or tensors disagree (as :func:`~simdask.open_dataset` says).

    Examples
    --------
    >>> ds = simdask.open_colocated("rank{rank:d}/{var}_{step:d}", [node0.address, node1.address],
    ...                             concat={"rank": "x"})                 # doctest: +SKIP
    """
    if isinstance(stores, (str, Client)) or not stores:
        raise TypeError("stores must be a non-empty list of addresses or simdask.Client objects")
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(connected(s)) for s in stores]
        catalogs = [Catalog(c, template, run) for c in clients]
        entries, owner = _owners(catalogs)
        chunks = "auto" if chunks is None else chunks  # open_dataset's default
        layout = layout_of(catalogs[0], entries, concat=concat, chunks=chunks, missing=missing, name=name)
        return _Reader(clients, owner).dataset(layout)
