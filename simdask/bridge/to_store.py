"""xarray and dask objects back into the store: one key per chunk, or per array.

The template says how: its ``{var}`` field takes the variable's name, every
other field names a dimension of the array and takes the coordinate value
(or the position) of the slice it writes, and concat fields take the index
of a chunk along a tensor dimension. An array is cut so that each key holds
one slice along the field dimensions, one chunk along the concat dimensions
and the whole of every other dimension; dask chunks are written by the Dask
workers, in parallel. Each tensor carries its description (``docs/protocol.md``,
"Describing a tensor"): dims, attrs, the coordinates it can hold and, for one
key per chunk, where the chunk sits in the array, so that
:func:`~simdask.open_dataset` opens the keys as the array they came from.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _progress as progress
from ..client import Client
from .loading import write_block
from .recipe import ClientRecipe, connected
from .template import VAR, KeyTemplate

if TYPE_CHECKING:
    import xarray

__all__ = ["to_store"]


def _variables(obj: Any, dims: Sequence[str] | None) -> list[tuple[str | None, xarray.DataArray]]:
    import dask.array as da
    import xarray as xr

    if isinstance(obj, xr.Dataset):
        if dims is not None:
            raise ValueError("dims= is for numpy and dask arrays; a Dataset's variables have their dims")
        return [(str(name), obj[name]) for name in obj.data_vars]
    if isinstance(obj, xr.DataArray):
        if dims is not None:
            raise ValueError("dims= is for numpy and dask arrays; a DataArray has its dims")
        return [(None if obj.name is None else str(obj.name), obj)]
    if isinstance(obj, (np.ndarray, da.Array)) or np.isscalar(obj):
        array = obj if isinstance(obj, da.Array) else np.asarray(obj)
        names = tuple(dims) if dims is not None else tuple(f"dim_{i}" for i in range(array.ndim))
        return [(None, xr.DataArray(array, dims=names))]
    raise TypeError(f"to_store writes xarray Datasets and DataArrays, dask and numpy arrays; got {type(obj).__name__}")


class _Plan:
    """How one variable is cut into keys."""

    def __init__(
        self,
        template: KeyTemplate,
        name: str | None,
        array: xarray.DataArray,
        concat: Mapping[str, str],
        coords: bool,
    ) -> None:
        if VAR in template.names and name is None:
            raise ValueError(f"key template {template.template!r} has a {{var}} field but the array has no name")
        self.template = template
        self.name = name
        self.array = array
        dims = [str(d) for d in array.dims]
        fields = [f for f in template.names if f != VAR]
        self.stack = [f for f in fields if f not in concat]
        for f in self.stack:
            if f not in dims:
                raise ValueError(
                    f"key template {template.template!r}: field {f!r} is not a dimension of {name or 'the array'} "
                    f"(dims {dims}); map chunk indices with concat={{{f!r}: <dim>}}"
                )
        self.concat = {f: str(d) for f, d in concat.items()}
        for f, dim in self.concat.items():
            if f not in fields:
                raise ValueError(f"concat field {f!r} is not a field of key template {template.template!r}")
            if dim not in dims or dim in self.stack:
                raise ValueError(f"concat {f!r}: {dim!r} is not a tensor dimension of {name or 'the array'} ({dims})")
        self.tensor_dims = tuple(d for d in dims if d not in self.stack)
        self.attrs = dict(array.attrs)
        self.sizes = {str(d): int(n) for d, n in array.sizes.items()}
        self.scalars: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}  # one value per key
        self.lines: dict[str, np.ndarray] = {}  # along a tensor dimension
        for cname, coord in array.coords.items() if coords else ():
            along, kind = tuple(str(d) for d in coord.dims), coord.dtype.kind
            if kind in "iufU" and set(along) <= set(self.stack) and cname not in (*self.stack, *self.tensor_dims):
                self.scalars[str(cname)] = (along, np.asarray(coord.values))
            elif kind in "iuf" and along == (cname,) and cname in self.tensor_dims:
                self.lines[str(cname)] = np.asarray(coord.values)

    def description(
        self, index: dict[str, int], start: dict[str, int], size: dict[str, int]
    ) -> tuple[dict[str, Any], dict[str, list[int]] | None]:
        """The coords and block of the key of the slab at ``index`` (positions along the field dimensions) whose
        tensor starts at ``start`` (along concat dimensions; else 0) and has ``size`` there."""
        coords: dict[str, Any] = {}
        for cname, (along, values) in self.scalars.items():
            coords[cname] = values[tuple(index[d] for d in along)]
        for cname, values in self.lines.items():
            first = start.get(cname, 0)
            coords[cname] = values[first : first + size.get(cname, len(values))]
        block = None
        if self.concat:
            block = {
                "shape": [self.sizes[d] for d in self.tensor_dims],
                "start": [start.get(d, 0) for d in self.tensor_dims],
            }
        return coords, block

    def chunks(self) -> dict[str, int]:
        """The dask chunks that make one key each (concat dimensions keep theirs)."""
        concat_dims = set(self.concat.values())
        out = {d: 1 for d in self.stack}
        out.update({str(d): -1 for d in self.array.dims if d not in out and d not in concat_dims})
        return out

    def key(self, index: dict[str, int]) -> str:
        """The tensor name for the chunk at ``index`` (dimension -> chunk index)."""
        values: dict[str, Any] = {}
        for f in self.stack:
            coord = self.array.indexes.get(f)
            values[f] = coord[index[f]] if coord is not None else index[f]
        values.update({f: index[dim] for f, dim in self.concat.items()})
        if self.name is not None and VAR in self.template.names:
            values[VAR] = self.name
        return self.template.format(values)


def _slabs(plan: _Plan, array: xarray.DataArray) -> Iterator[tuple[str, Any, tuple[int, ...], tuple[Any, Any]]]:
    """(tensor name, block, axes to drop, description) for every key of a variable; blocks are Delayed for dask
    data."""
    import dask.array as da

    dims = [str(d) for d in array.dims]
    drop = tuple(dims.index(d) for d in plan.stack)
    if isinstance(array.data, da.Array):
        data = array.data.rechunk({dims.index(d): size for d, size in plan.chunks().items()})
        blocks = data.to_delayed()
        offsets = [np.cumsum((0, *chunks)).tolist() for chunks in data.chunks]
        for index in itertools.product(*(range(n) for n in blocks.shape)):
            at = dict(zip(dims, index))
            start = {d: offsets[a][i] for a, (d, i) in enumerate(at.items())}
            size = {d: data.chunks[a][i] for a, (d, i) in enumerate(at.items())}
            yield plan.key(at), blocks[index], drop, plan.description(at, start, size)
        return
    values = np.asarray(array.values)
    for index in itertools.product(*(range(values.shape[axis]) for axis in drop)):
        at = dict(zip(plan.stack, index))
        where = tuple(slice(at[d], at[d] + 1) if d in at else slice(None) for d in dims)
        key = plan.key({**at, **dict.fromkeys(plan.concat.values(), 0)})
        yield key, values[where], drop, plan.description(at, {}, {})


def to_store(
    obj: Any,
    template: str,
    address: str | Client | None = None,
    *,
    dims: Sequence[str] | None = None,
    concat: Mapping[str, str] | None = None,
    compute: bool = True,
    coords: bool = True,
) -> Any:
    """Write an xarray Dataset or DataArray, or a dask or numpy array, into the store.

    Parameters
    ----------
    obj
        What to write. Dask-backed data are written by the Dask workers (the
        active scheduler), one task per key; numpy data from this process.
        A progress bar shows the bytes and tasks written (in Jupyter or on a
        terminal; ``simdask.progress``).
    template
        Tensor names (the client's write prefix goes in front). ``{var}``
        takes the variable name; any other field names a dimension and takes
        the coordinate value (or position) of each slice along it: one key
        per slice. A template with no field but ``{var}`` writes one key per
        array. See ``concat`` for one key per chunk.
    address
        The store, or a :class:`~simdask.Client` (its write prefix applies).
    dims
        Dimension names of a numpy or dask array (default ``dim_0``, ...).
    concat
        Field -> dimension: one key per dask chunk along that dimension, the
        field taking the chunk's index (the inverse of :func:`open_dataset`'s
        ``concat``); the dimension stays in the tensors.
    compute
        ``False``: return a ``dask.delayed`` object that writes when computed.
    coords
        Store coordinates in the tensors' descriptions (``docs/protocol.md``,
        "Describing a tensor"): one value per key of those along field
        dimensions only (numbers or text: a step's time) and each key's part
        of the numeric dimension coordinates of its tensor dimensions.
        Other coordinates (along several dimensions, dates) are not stored.
        With ``concat``, each key also says where its chunk sits in the
        array, so that :func:`open_dataset` assembles it without ``concat``.

    Returns
    -------
    list of str
        The tensor names written (or a Delayed computing them). Each tensor
        keeps its dimension names and the variable's attrs (and coordinates).

    Examples
    --------
    >>> simdask.to_store(ds, "{var}.step{step:d}", address)     # one key per variable and step
    ... # doctest: +SKIP
    >>> simdask.to_store(arr, "u.block{b:d}", address, concat={"b": "dim_0"})   # one key per chunk
    ... # doctest: +SKIP
    """
    import dask

    key_template = KeyTemplate(template)
    variables = _variables(obj, dims)
    if VAR not in key_template.names and len(variables) > 1:
        raise ValueError(f"key template {template!r} has no {{var}} field to tell {len(variables)} variables apart")
    slabs: list[tuple[_Plan, str, Any, tuple[int, ...], tuple[Any, Any]]] = []
    for var, array in variables:
        plan = _Plan(key_template, var, array, concat or {}, coords)
        slabs += [(plan, *slab) for slab in _slabs(plan, array)]
    names = [name for _, name, _, _, _ in slabs]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"key template {template!r} gives the name {duplicate!r} to several slices")
    with connected(address) as client:
        recipe = ClientRecipe(client)
    tasks: list[Any] = []
    here = sum(block.nbytes for _, _, block, _, _ in slabs if compute and isinstance(block, np.ndarray))
    with progress.bar(here, f"to_store {template}", unit="B", unit_scale=True) as shown:
        for plan, name, block, drop, described in slabs:
            if compute and isinstance(block, np.ndarray):
                write_block(recipe, name, block, drop, plan.tensor_dims, plan.attrs, *described)
                shown.update(block.nbytes)
            else:
                write = dask.delayed(write_block, pure=False)
                tasks.append(write(recipe, name, block, drop, plan.tensor_dims, plan.attrs, *described))
    if compute and not tasks:  # numpy data: written above
        return names
    written = dask.delayed(_written, pure=True)(tasks, names)
    return progress.compute(written, f"to_store {template}") if compute else written


def _written(done: list[int], names: list[str]) -> list[str]:
    return names
