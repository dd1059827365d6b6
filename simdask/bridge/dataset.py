"""Store keys as a lazy xarray Dataset: one dask chunk per key (or per group of keys)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..client import Client
from .catalog import Catalog, Entry
from .gcpause import gc_paused
from .layout import Chunks, Layout, Missing, VariableLayout, plan
from .loading import BlockReader
from .placement import place_blocks
from .recipe import ClientRecipe, connected
from .template import VAR

if TYPE_CHECKING:
    import dask.array
    import xarray

__all__ = ["open_dataset", "open_dataarray", "layout_of", "to_xarray"]


def _dask_array(variable: VariableLayout, recipe: ClientRecipe, token: str) -> dask.array.Array:
    import dask.array as da
    from dask._task_spec import DataNode, Task
    from dask.array.core import getter
    from dask.highlevelgraph import HighLevelGraph

    name = f"simdask-{variable.name}-{token}"
    everything = DataNode(None, (slice(None),) * len(variable.dims))
    layer: dict[Any, Any] = {
        (name, *index): Task((name, *index), getter, DataNode(None, BlockReader(recipe, block)), everything)
        for index, block in variable.blocks.items()
    }
    graph = HighLevelGraph.from_collections(name, layer, dependencies=())
    place_blocks(graph.layers[name], recipe, variable.blocks)  # on the workers of their keys' nodes
    meta = np.empty((0,) * len(variable.dims), dtype=variable.dtype)
    return da.Array(graph, name, chunks=variable.chunks, dtype=variable.dtype, meta=meta)


def assemble(layout: Layout, array_of: Callable[[VariableLayout, str], dask.array.Array]) -> xarray.Dataset:
    """The lazy Dataset of a layout, each variable's dask array made by ``array_of(variable, token)``."""
    import xarray as xr

    token = uuid.uuid4().hex  # a store's data change under the same keys: never let dask reuse old results
    variables = {v.name: xr.Variable(v.dims, array_of(v, token), attrs=v.attrs) for v in layout.variables}
    coords: dict[str, Any] = {dim: np.asarray(values) for dim, values in layout.coords.items()}
    coords.update(layout.tensor_coords)
    return xr.Dataset(variables, coords=coords)


def to_xarray(layout: Layout, client: Client) -> xarray.Dataset:
    """The lazy Dataset of a layout; its chunks are read with ``client``'s recipe wherever they are computed."""
    recipe = ClientRecipe(client)
    return assemble(layout, lambda variable, token: _dask_array(variable, recipe, token))


def _default_name(catalog: Catalog) -> str:
    """Name of the only variable of a template without ``{var}``: the identifier it starts with (``theta`` for
    ``theta_{step}``), else ``data``."""
    match = re.match(r"[A-Za-z_]\w*", catalog.template.template)
    return (match.group().rstrip("_") or "data") if match else "data"


def layout_of(
    catalog: Catalog,
    entries: list[Entry],
    *,
    concat: Mapping[str, str | int] | None,
    chunks: Chunks | None,
    missing: Missing,
    name: str | None,
) -> Layout:
    """:func:`~simdask.bridge.layout.plan` for the entries of a catalog."""
    if name is not None and VAR in catalog.template.names:
        raise ValueError(f"name= is for templates without a {{var}} field; {catalog.template.template!r} has one")
    return plan(
        entries,
        catalog.template,
        key_of=catalog.key,
        concat=concat,
        chunks=chunks,
        missing=missing,
        default_name=name or _default_name(catalog),
    )


def open_dataset(
    template: str,
    address: str | Client | None = None,
    *,
    concat: Mapping[str, str | int] | None = None,
    chunks: Chunks | None = None,
    missing: Missing = "raise",
    name: str | None = None,
    run: int | str | None = None,
) -> xarray.Dataset:
    """Open the tensors a key template matches as a lazy :class:`xarray.Dataset`.

    Only headers are read now (one pipelined round trip per shard and
    10,000 keys; time and memory grow linearly with the keys); each dask
    chunk reads its tensors when computed, on the Dask worker computing it,
    through that worker process's own store connection.

    Tensors that describe themselves (``docs/protocol.md``, "Describing a
    tensor": dims, attrs, coordinates, their place in a global array) open
    alike from Python, C and Fortran: the MPI ranks' blocks of a field that
    say where they sit (``block``) open as the global array, without
    ``concat``, uneven decompositions included, and each tensor is shown in
    its memory's row-major order, so that Fortran's ``theta(nx, nz)`` (F
    order, dims ``("x", "z")``) and C's ``theta[nz][nx]`` (dims ``("z",
    "x")``) open as the same variable ``theta(step, z, x)``.

    Parameters
    ----------
    template
        Key names with fields, e.g. ``"{var}.step{step:d}"`` or
        ``"rank{rank:d}/{var}_{step:d}"``. ``{var}`` names the variables;
        every other field becomes a dimension (in template order, before the
        tensors' own) whose coordinate is the sorted set of its values
        (``:d``: integers). The client's read prefix is put in front.
    address
        The store: an address (``None``: ``SIMDASK_ADDRESS``) or a
        :class:`~simdask.Client`, whose key prefixes then apply.
    concat
        Field -> tensor dimension (name or axis, in the row-major order):
        tile the blocks of that field along that dimension instead of
        stacking them, e.g. ``{"rank": "x"}`` for a domain split along ``x``.
        Block sizes may differ between ranks. Not needed for tensors with a
        ``block``: their fields that tell the blocks apart are found (those
        whose tensors differing in them alone sit at different starts); a
        concat names them instead (the dimension is then not used), e.g. to
        drop the length-1 ``rank`` dimension of a run on one rank.
    chunks
        ``"auto"`` (default, also for ``None``): keys are grouped along the
        last field dimension into chunks of about dask's ``array.chunk-size``
        (128 MiB; ``dask.config.set({"array.chunk-size": "32MiB"})`` for
        smaller ones): fewer, larger tasks, which Dask runs with far less
        overhead than one task per key. Or field dimension -> keys per dask
        chunk (1 where not named; -1: all): ``{}`` gives one chunk per key
        (per block of a global array), ``{"step": 10}`` ten steps per chunk.
        A task reads its keys in pipelined rounds; a selection by integers
        or slices reads only the keys it touches, not its whole chunks
        (``docs/python.md``, "Chunks and reading speed").
    missing
        ``"raise"`` (default): a hole in the grid (say, a missing step) is a
        :class:`~simdask.KeyNotFoundError` naming the missing keys; ``"nan"``
        fills holes with NaN (integer variables become float64).
    name
        The variable's name when the template has no ``{var}`` field
        (default: the identifier the template starts with, without trailing
        underscores, e.g. ``temperature`` for ``"temperature.step{step:d}"``
        or ``theta`` for ``"theta_{step:d}"``, else ``data``).
    run
        Which run of the writer group to open (``docs/protocol.md``, "Runs"):
        ``None`` (default) for its current run, looked up now, or a run
        number or id (:meth:`simdask.Client.runs` lists them). The dataset keeps
        reading that run's keys however long it lives; a group without runs
        opens its plain keys.

    Returns
    -------
    xarray.Dataset
        Tensors' dimension names and attrs (those equal in every key of a
        variable) become the variables' dims and attrs; unnamed dimensions
        are ``dim_0``, ``dim_1``, ... Their coordinates become the Dataset's:
        a number or string per key along the field dimensions (``time(step)``),
        a list along its tensor dimension (assembled from the blocks). Dask
        chunks follow the keys, or the blocks of a global array.

    Raises
    ------
    KeyNotFoundError
        Nothing matches, or keys are missing (``missing="raise"``).
    TensorMismatchError
        Tensors of one variable differ in dtype, dims or shape, or their
        blocks overlap or disagree on the global shape, or they give one
        coordinate different values, naming two keys.

    Examples
    --------
    >>> ds = simdask.open_dataset("{var}.step{step:d}", store.address)   # doctest: +SKIP
    >>> ds.u.mean("step").compute()                                      # doctest: +SKIP
    >>> simdask.open_dataset("rank{rank:d}/{var}_{step:d}", address).theta  # ranks' blocks: the global field
    ... # doctest: +SKIP
    <xarray.DataArray 'theta' (step: 10, z: 64, x: 128)> ... Coordinates: step, time (step), x
    """
    with connected(address) as client, gc_paused():  # many small objects, no cycles: gcpause.py
        catalog = Catalog(client, template, run)
        chunks = "auto" if chunks is None else chunks
        layout = layout_of(catalog, catalog.require(), concat=concat, chunks=chunks, missing=missing, name=name)
        return to_xarray(layout, client)


def open_dataarray(
    template: str,
    address: str | Client | None = None,
    *,
    concat: Mapping[str, str | int] | None = None,
    chunks: Chunks | None = None,
    missing: Missing = "raise",
    name: str | None = None,
    run: int | str | None = None,
) -> xarray.DataArray:
    """:func:`open_dataset` for a template that matches one variable; returns it as a DataArray."""
    dataset = open_dataset(template, address, concat=concat, chunks=chunks, missing=missing, name=name, run=run)
    if len(dataset.data_vars) != 1:
        raise ValueError(
            f"key template {template!r} matches {len(dataset.data_vars)} variables "
            f"({sorted(map(str, dataset.data_vars))}); use open_dataset, or name one variable in the template"
        )
    return dataset[next(iter(dataset.data_vars))]
