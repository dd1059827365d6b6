"""From matched tensors to a labelled grid of blocks: dimensions, coordinates, chunks (no I/O).

Every template field but ``var`` and the concat fields becomes a dimension in
front of the tensors' own dimensions, with the sorted field values as its
coordinate. A concat field instead tiles blocks along one of the tensors' own
dimensions (domain decomposition), so blocks may differ in size along it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..errors import KeyNotFoundError, TensorMismatchError
from .catalog import Entry
from .template import VAR, KeyTemplate

__all__ = ["Missing", "Chunks", "Block", "VariableLayout", "Layout", "plan", "default_dims", "name_keys"]

#: What to do where the grid has no key: raise, or fill with NaN.
Missing = Literal["raise", "nan"]
#: Keys per dask chunk along field dimensions, or "auto" (about dask's ``array.chunk-size`` per chunk).
Chunks = Mapping[str, int] | Literal["auto"]

_SHOWN = 10  # keys named in an error message


@dataclass(slots=True)
class Block:
    """What one dask task loads: a grid of keys (``None`` marks a gap), each holding a tensor of ``shape``."""

    keys: tuple[str | None, ...]  # C order over ``grid``
    grid: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: np.dtype  # as stored
    out_dtype: np.dtype  # as returned: promoted when gaps are filled with NaN
    order: Literal["C", "F"] = "C"  # as stored (when opened)


@dataclass(frozen=True)
class VariableLayout:
    """One variable: its dimensions, dask chunks and the block behind each chunk."""

    name: str
    dims: tuple[str, ...]
    dtype: np.dtype
    chunks: tuple[tuple[int, ...], ...]
    blocks: dict[tuple[int, ...], Block]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """Every variable of a dataset and the coordinates of the field dimensions."""

    variables: tuple[VariableLayout, ...]
    coords: dict[str, list[Any]]


def name_keys(keys: list[str]) -> str:
    """The first few of ``keys``, quoted, for an error message."""
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(repr(k) for k in keys[:_SHOWN]) + more


def default_dims(ndim: int) -> tuple[str, ...]:
    """Dimension names of a tensor stored without any: ``dim_0``, ``dim_1``, ..."""
    return tuple(f"dim_{i}" for i in range(ndim))


def _dims(entry: Entry) -> tuple[str, ...]:
    return entry.info.dims or default_dims(entry.info.ndim)


def _split(size: int, step: int) -> tuple[int, ...]:
    step = size if step == -1 else step
    return tuple(min(step, size - start) for start in range(0, size, step)) or (0,)


def _describe(entry: Entry) -> str:
    return f"{entry.key!r} ({entry.info.dtype}, shape {entry.info.shape}, dims {_dims(entry)})"


def _common_attrs(entries: Iterable[Entry]) -> dict[str, Any]:
    """Attrs that every tensor of a variable holds with the same value."""
    entries = iter(entries)
    common = dict(next(entries).info.attrs)
    for entry in entries:
        if not common:
            break
        attrs = entry.info.attrs
        common = {k: v for k, v in common.items() if k in attrs and attrs[k] == v}
    return common


def _chunk_bytes() -> int:
    import dask.config
    from dask.utils import parse_bytes

    size = dask.config.get("array.chunk-size")
    return size if isinstance(size, int) else parse_bytes(size)


def _block_bytes(ref: Entry, tiled: dict[str, int], tile_chunks: dict[str, tuple[int, ...]]) -> int:
    """Bytes of the largest block one key holds."""
    shape = list(ref.info.shape)
    for f, axis in tiled.items():
        shape[axis] = max(tile_chunks[f])
    return int(np.prod(shape, dtype=np.int64)) * ref.info.dtype.itemsize


def _with_nan(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


class _Planner:
    def __init__(
        self,
        template: KeyTemplate,
        key_of: Callable[[dict[str, Any]], str],
        concat: Mapping[str, str | int],
        chunks: Chunks,
        missing: Missing,
    ) -> None:
        self.template = template
        self.key_of = key_of
        self.concat = dict(concat)
        self.missing = missing
        self.fields = [n for n in template.names if n != VAR]  # every dimension field, in template order
        for name in self.concat:
            if name not in self.fields:
                raise ValueError(
                    f"concat field {name!r} is not a dimension field of key template {template.template!r}"
                )
        stacked = [f for f in self.fields if f not in self.concat]
        self.auto = isinstance(chunks, str) and chunks == "auto"
        if not self.auto and not isinstance(chunks, Mapping):
            raise TypeError(f"chunks must map field dimensions to keys per chunk, or be 'auto'; got {chunks!r}")
        chunks = {} if isinstance(chunks, str) else chunks
        for dim, size in chunks.items():
            if dim not in stacked:
                raise ValueError(
                    f"chunks: {dim!r} is not a field dimension of key template {template.template!r} "
                    f"(those are {stacked}); tensors are read whole, rechunk them with .chunk() after opening"
                )
            if not isinstance(size, int) or (size < 1 and size != -1):
                raise ValueError(f"chunks[{dim!r}] must be a positive number of keys or -1, got {size!r}")
        self.group = {f: chunks.get(f, 1) for f in self.fields}
        self.gaps: list[str] = []

    def plan(self, entries: list[Entry], default_name: str) -> Layout:
        values = {f: sorted({e.fields[f] for e in entries}) for f in self.fields}
        position = {f: {v: i for i, v in enumerate(vs)} for f, vs in values.items()}
        cells: dict[str, dict[tuple[int, ...], Entry]] = {}
        for entry in entries:
            pos = tuple(position[f][entry.fields[f]] for f in self.fields)
            var_cells = cells.setdefault(str(entry.fields.get(VAR, default_name)), {})
            other = var_cells.setdefault(pos, entry)
            if other is not entry:
                raise ValueError(
                    f"keys {other.key!r} and {entry.key!r} give the same field values for key template "
                    f"{self.template.template!r}"
                )
        variables = tuple(self._variable(name, cells[name], values) for name in sorted(cells))
        for f, target in self.concat.items():
            if all(f in v.dims for v in variables):
                raise ValueError(
                    f"concat {f!r}: no tensor matched by {self.template.template!r} has dimension {target!r}"
                )
        if self.gaps:
            raise KeyNotFoundError(
                f"key template {self.template.template!r}: {len(self.gaps)} key(s) missing from the grid: "
                f"{name_keys(self.gaps)} (open with missing='nan' to fill them with NaN)"
            )
        used = {d for v in variables for d in v.dims}
        return Layout(variables, {f: vs for f, vs in values.items() if f in used})

    def _axis(self, f: str, dims: tuple[str, ...]) -> int | None:
        """The tensor axis that concat field ``f`` tiles, or ``None`` when these tensors lack it."""
        target = self.concat[f]
        if isinstance(target, int):
            return target % len(dims) if -len(dims) <= target < len(dims) else None
        return dims.index(target) if target in dims else None

    def _variable(self, name: str, cells: dict[tuple[int, ...], Entry], values: dict[str, list[Any]]) -> VariableLayout:
        ref = cells[min(cells)]
        dims = _dims(ref)
        tiled = {f: axis for f in self.concat if (axis := self._axis(f, dims)) is not None}
        stack = [f for f in self.fields if f not in tiled]  # a concat field the tensors lack is stacked
        clash = set(dims) & set(stack)
        if clash:
            raise ValueError(
                f"variable {name!r}: tensor dimension(s) {sorted(clash)} of {ref.key!r} have the name of a "
                f"template field of {self.template.template!r}"
            )
        tile_fields = [(f, axis, self.fields.index(f)) for f, axis in tiled.items()]
        untiled = [a for a in range(len(dims)) if a not in tiled.values()]
        sizes: dict[str, dict[int, Entry]] = {f: {} for f in tiled}
        checked: set[tuple[int, tuple[int, ...]]] = set()  # most tensors share one header object: check it once
        for pos, entry in sorted(cells.items()):
            info = entry.info
            seen = (id(info), tuple(pos[i] for _, _, i in tile_fields))
            if seen in checked:
                continue
            checked.add(seen)
            if info is not ref.info and (info.dtype != ref.info.dtype or _dims(entry) != dims):
                raise TensorMismatchError(f"variable {name!r}: {_describe(entry)} does not fit {_describe(ref)}")
            for axis in untiled:
                if info.shape[axis] != ref.info.shape[axis]:
                    raise TensorMismatchError(
                        f"variable {name!r}: {_describe(entry)} does not fit {_describe(ref)} along {dims[axis]!r}"
                    )
            for f, axis, i in tile_fields:
                first = sizes[f].setdefault(pos[i], entry)
                if first.info.shape[axis] != info.shape[axis]:
                    raise TensorMismatchError(
                        f"variable {name!r}: blocks of {f}={values[f][pos[i]]!r} differ along {dims[axis]!r}: "
                        f"{_describe(first)} and {_describe(entry)}"
                    )
        for f in tiled:
            absent = [v for t, v in enumerate(values[f]) if t not in sizes[f]]
            if absent:
                raise KeyNotFoundError(
                    f"variable {name!r} has no tensor at all for {f}={absent[0]!r} of key template "
                    f"{self.template.template!r}: the size of that block along {dims[tiled[f]]!r} is unknown"
                )
        tile_chunks = {
            f: tuple(sizes[f][t].info.shape[axis] for t in range(len(values[f]))) for f, axis in tiled.items()
        }
        group = dict(self.group)
        if self.auto and stack:  # group along the last field dimension up to dask's array.chunk-size
            group[stack[-1]] = max(1, _chunk_bytes() // max(_block_bytes(ref, tiled, tile_chunks), 1))
        return self._blocks(name, cells, ref, stack, tiled, tile_chunks, values, group)

    def _blocks(
        self,
        name: str,
        cells: dict[tuple[int, ...], Entry],
        ref: Entry,
        stack: list[str],
        tiled: dict[str, int],
        tile_chunks: dict[str, tuple[int, ...]],
        values: dict[str, list[Any]],
        group: dict[str, int],
    ) -> VariableLayout:
        dims = _dims(ref)
        dtype, order = ref.info.dtype, ref.info.order
        stack_chunks = [_split(len(values[f]), group[f]) for f in stack]
        field_of_axis = {axis: f for f, axis in tiled.items()}
        tensor_chunks = [
            tile_chunks[field_of_axis[a]] if a in field_of_axis else (ref.info.shape[a],) for a in range(len(dims))
        ]
        starts = [np.cumsum((0, *c)).tolist() for c in stack_chunks]
        # A cell's position lists every field in template order; build it from (stack values..., tile indices...).
        along = [*stack, *tiled]
        position = [along.index(f) for f in self.fields]
        tile_axes = list(tiled.values())
        n_stack = len(stack)
        blocks: dict[tuple[int, ...], Block] = {}
        gaps = 0
        for index in itertools.product(*(range(len(c)) for c in (*stack_chunks, *tensor_chunks))):
            tensor_index = index[n_stack:]
            ranges = [range(starts[i][b], starts[i][b + 1]) for i, b in enumerate(index[:n_stack])]
            tiles = tuple(tensor_index[axis] for axis in tile_axes)
            keys: list[str | None] = []
            for combo in itertools.product(*ranges):
                at = combo + tiles
                entry = cells.get(tuple([at[i] for i in position]))
                if entry is None:
                    gaps += 1
                    if self.missing == "raise":
                        self.gaps.append(self._gap_key(name, dict(zip(along, at)), values))
                    keys.append(None)
                else:
                    keys.append(entry.key)
            shape = tuple([chunks[i] for chunks, i in zip(tensor_chunks, tensor_index)])
            blocks[index] = Block(tuple(keys), tuple([len(r) for r in ranges]), shape, dtype, dtype, order)
        if gaps:
            for block in blocks.values():
                block.out_dtype = _with_nan(dtype)
        return VariableLayout(
            name=name,
            dims=(*stack, *dims),
            dtype=_with_nan(dtype) if gaps else dtype,
            chunks=(*stack_chunks, *tensor_chunks),
            blocks=blocks,
            attrs=_common_attrs(cells.values()),
        )

    def _gap_key(self, name: str, at: dict[str, int], values: dict[str, list[Any]]) -> str:
        fields: dict[str, Any] = {f: values[f][i] for f, i in at.items()}
        if VAR in self.template.names:
            fields[VAR] = name
        return self.key_of(fields)


def plan(
    entries: list[Entry],
    template: KeyTemplate,
    *,
    key_of: Callable[[dict[str, Any]], str],
    concat: Mapping[str, str | int] | None = None,
    chunks: Chunks | None = None,
    missing: Missing = "raise",
    default_name: str = "data",
) -> Layout:
    """Lay matched tensors out as variables of blocks.

    Parameters
    ----------
    entries
        The matched tensors (at least one).
    template
        The key template they matched.
    key_of
        Raw key of a set of field values (names the keys missing from the grid).
    concat
        Field -> tensor dimension (name or axis) to tile blocks along.
        Variables whose tensors lack that dimension stack the field instead.
    chunks
        Field dimension -> number of keys per dask chunk (default 1, -1: all),
        or ``"auto"``: along the last field dimension, as many keys as make
        about dask's ``array.chunk-size`` (128 MiB by default).
    missing
        ``"raise"``: a gap in the grid is a :class:`~simdask.KeyNotFoundError`
        naming the missing keys; ``"nan"``: gaps read as NaN (integer and
        boolean variables with gaps become float64).
    default_name
        The variable's name when the template has no ``{var}`` field.

    Raises
    ------
    TensorMismatchError
        Tensors of one variable differ in dtype, dimension names or shape
        (other than along a concat dimension), naming two such keys.
    """
    if missing not in ("raise", "nan"):
        raise ValueError(f"missing must be 'raise' or 'nan', got {missing!r}")
    if not entries:
        raise ValueError("no tensors to lay out")
    planner = _Planner(template, key_of, concat or {}, chunks or {}, missing)
    return planner.plan(entries, default_name)
