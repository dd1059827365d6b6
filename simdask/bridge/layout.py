"""From matched tensors to a labelled grid of blocks: dimensions, coordinates, chunks (no I/O).

Every template field but ``var`` and the concat fields becomes a dimension in
front of the tensors' own dimensions, with the sorted field values as its
coordinate. A concat field instead tiles blocks along one of the tensors' own
dimensions (domain decomposition), so blocks may differ in size along it.
Tensors that say where they sit in a global array (their ``block``) are placed
there instead, and the fields that only tell such blocks apart give no
dimension (``docs/protocol.md``, "Describing a tensor").

Each tensor is shown in its memory's row-major order: an F-ordered tensor of
shape ``(nx, nz)`` with dims ``("x", "z")`` is the same memory as a C-ordered
``(nz, nx)`` with ``("z", "x")``, and both are shown as the latter (its shape,
dims, block shape and start reversed; unnamed dimensions are ``dim_0``, ...
in that order). No side copies anything for it.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .. import wire
from ..errors import KeyNotFoundError, TensorMismatchError
from .catalog import Entry
from .coords import Coordinates, Placed, coordinates
from .template import VAR, KeyTemplate

__all__ = [
    "Missing",
    "Chunks",
    "Part",
    "Block",
    "VariableLayout",
    "Layout",
    "plan",
    "default_dims",
    "name_keys",
    "view_dims",
    "view_shape",
]

#: What to do where the grid has no key: raise, or fill with NaN.
Missing = Literal["raise", "nan"]
#: Keys per dask chunk along field dimensions, or "auto" (about dask's ``array.chunk-size`` per chunk).
Chunks = Mapping[str, int] | Literal["auto"]

#: The part of a tensor one block holds: the tensor's (row-major) shape, and where the part starts in it.
Part = tuple[tuple[int, ...], tuple[int, ...]]

_SHOWN = 10  # keys named in an error message


@dataclass(slots=True)
class Block:
    """What one dask task loads: a grid of keys (``None`` marks a gap), each giving an array of ``shape``.

    Shapes are row-major (the module's docstring): a key stored in F order
    is read as it lies and its transpose taken.
    """

    keys: tuple[str | None, ...]  # C order over ``grid``
    grid: tuple[int, ...]
    shape: tuple[int, ...]
    dtype: np.dtype  # as stored
    out_dtype: np.dtype  # as returned: promoted when gaps are filled with NaN
    orders: tuple[Literal["C", "F"], ...] = ()  # each key's order as stored (when opened); empty: all "C"
    parts: tuple[Part | None, ...] = ()  # each key's part to take (None: the whole tensor); empty: all whole


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
    #: Coordinates the tensors describe (their ``coords``): name -> (dims, values).
    tensor_coords: Coordinates = field(default_factory=dict)


def name_keys(keys: list[str]) -> str:
    """The first few of ``keys``, quoted, for an error message."""
    more = f" and {len(keys) - _SHOWN} more" if len(keys) > _SHOWN else ""
    return ", ".join(repr(k) for k in keys[:_SHOWN]) + more


def default_dims(ndim: int) -> tuple[str, ...]:
    """Dimension names of a tensor stored without any: ``dim_0``, ``dim_1``, ..."""
    return tuple(f"dim_{i}" for i in range(ndim))


def view_dims(info: wire.TensorInfo) -> tuple[str, ...]:
    """A tensor's dimension names in its memory's row-major order (unnamed: ``dim_0``, ... in that order)."""
    if info.dims is None:
        return default_dims(info.ndim)
    return info.dims[::-1] if info.order == "F" else info.dims


def view_shape(info: wire.TensorInfo) -> tuple[int, ...]:
    """A tensor's shape in its memory's row-major order."""
    return info.shape[::-1] if info.order == "F" else info.shape


def _placement(info: wire.TensorInfo) -> wire.Placement:
    """A tensor's block (it has one) in its memory's row-major order."""
    assert info.block is not None
    if info.order == "F":
        return wire.Placement(shape=info.block.shape[::-1], start=info.block.start[::-1])
    return info.block


def _degenerate(info: wire.TensorInfo) -> bool:
    """Whether a tensor's memory is the same in C and F order: at most one dimension longer than 1 (or none)."""
    return info.ndim > 1 and (0 in info.shape or sum(n > 1 for n in info.shape) <= 1)


def _agree_orders(cells: dict[tuple[int, ...], Entry]) -> dict[tuple[int, ...], Entry]:
    """Tensors whose memory is the same in both orders, in the order that fits the variable's other tensors.

    numpy calls an array of shape ``(2, 1)`` C-contiguous, and the Python
    client writes it so, even where it is one rank's block of an F-ordered
    field (Fortran writes every array in F order). Its dims say which it is.
    """
    ref = next((cells[pos] for pos in sorted(cells) if not _degenerate(cells[pos].info)), None)
    if ref is None:
        return cells
    order, dims = ref.info.order, view_dims(ref.info)
    out = {}
    for pos, entry in cells.items():
        info = entry.info
        if info.order != order and _degenerate(info):
            other = dataclasses.replace(info, order=order)
            if info.dims is None or (view_dims(other) == dims and view_dims(info) != dims):
                entry = dataclasses.replace(entry, info=other)
        out[pos] = entry
    return out


def _dims(entry: Entry) -> tuple[str, ...]:
    return view_dims(entry.info)


def _shape(entry: Entry) -> tuple[int, ...]:
    return view_shape(entry.info)


def _split(size: int, step: int) -> tuple[int, ...]:
    step = size if step == -1 else step
    return tuple(min(step, size - start) for start in range(0, size, step)) or (0,)


def _describe(entry: Entry) -> str:
    return f"{entry.key!r} ({entry.info.dtype}, shape {_shape(entry)}, dims {_dims(entry)})"


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
    shape = list(_shape(ref))
    for f, axis in tiled.items():
        shape[axis] = max(tile_chunks[f])
    return int(np.prod(shape, dtype=np.int64)) * ref.info.dtype.itemsize


def _with_nan(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


@dataclass(frozen=True)
class _Laid:
    """A variable laid out: the header forms of its tensors by grid position, and what came of them."""

    forms: dict[tuple[int, ...], tuple[Any, ...]]
    cells: dict[tuple[int, ...], Entry]
    layout: VariableLayout
    placed: list[Placed]


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
        self.holes: list[str] = []  # parts of global arrays no block covers, where no key is missing
        self.placed: list[Placed] = []  # variables whose tensors give coordinates
        self._geometries: dict[int, tuple[wire.TensorInfo, tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {}
        self._forms: dict[int, tuple[wire.TensorInfo, tuple[Any, ...]]] = {}
        self._laid: list[_Laid] = []  # variables laid out without gaps, whose layout others may share

    def plan(self, entries: list[Entry], default_name: str) -> Layout:
        values = {f: sorted({e.fields[f] for e in entries}) for f in self.fields}
        position = {f: {v: i for i, v in enumerate(vs)} for f, vs in values.items()}
        cells: dict[str, dict[tuple[int, ...], Entry]] = {}
        for entry in entries:
            pos = tuple([position[f][entry.fields[f]] for f in self.fields])
            var_cells = cells.setdefault(str(entry.fields.get(VAR, default_name)), {})
            other = var_cells.setdefault(pos, entry)
            if other is not entry:
                raise ValueError(
                    f"keys {other.key!r} and {entry.key!r} give the same field values for key template "
                    f"{self.template.template!r}"
                )
        variables = tuple(self._layout(name, _agree_orders(cells[name]), values) for name in sorted(cells))
        for f, target in self.concat.items():
            if all(f in v.dims for v in variables):
                raise ValueError(
                    f"concat {f!r}: no tensor matched by {self.template.template!r} has dimension {target!r}"
                )
        if self.gaps or self.holes:
            missing = [f"{len(self.gaps)} key(s) missing from the grid: {name_keys(self.gaps)}"] if self.gaps else []
            raise KeyNotFoundError(
                f"key template {self.template.template!r}: {'; '.join(missing + self.holes[:_SHOWN])} "
                "(open with missing='nan' to fill them with NaN)"
            )
        used = {d for v in variables for d in v.dims}
        field_coords = {f: vs for f, vs in values.items() if f in used}
        described = coordinates(self.placed, taken={*field_coords, *(v.name for v in variables)})
        return Layout(variables, field_coords, described)

    def _layout(self, name: str, cells: dict[tuple[int, ...], Entry], values: dict[str, list[Any]]) -> VariableLayout:
        """A variable of tensors placed in a global array (all have a block), else tiled or stacked."""
        ref = cells[min(cells)]
        placed = [entry.info.block is not None for entry in cells.values()]
        if any(placed) and not all(placed):
            other = next(e for e, has in zip(cells.values(), placed) if has != (ref.info.block is not None))
            with_block, without = (ref, other) if ref.info.block is not None else (other, ref)
            raise TensorMismatchError(
                f"variable {name!r}: {with_block.key!r} says where it sits in a global array (its block) but "
                f"{without.key!r} does not: give every tensor of a variable a block, or none"
            )
        forms = {pos: self._form(entry.info) for pos, entry in cells.items()}
        for earlier in self._laid:
            if earlier.forms == forms:  # laid out like an earlier variable (the variables of a run mostly are)
                return self._like(earlier, name, cells)
        gaps, holes, placed_before = len(self.gaps), len(self.holes), len(self.placed)
        layout = self._global(name, cells, values) if all(placed) else self._variable(name, cells, values)
        if len(self.gaps) == gaps and len(self.holes) == holes:
            self._laid.append(_Laid(forms, cells, layout, self.placed[placed_before:]))
        return layout

    def _form(self, info: wire.TensorInfo) -> tuple[Any, ...]:
        """What the layout of a variable takes from one of its tensor's headers (all but its key and attrs)."""
        known = self._forms.get(id(info))
        if known is None or known[0] is not info:
            block = None if info.block is None else self._geometry(info)
            form = (info.dtype, info.order, view_dims(info), view_shape(info), block, bool(info.coords))
            known = self._forms[id(info)] = (info, form)
        return known[1]

    def _like(self, earlier: _Laid, name: str, cells: dict[tuple[int, ...], Entry]) -> VariableLayout:
        """The layout of a variable whose tensors sit where an earlier variable's do, with its own keys."""
        entry_of = {earlier.cells[pos].key: entry for pos, entry in cells.items()}
        blocks = {
            index: Block(
                tuple([None if key is None else entry_of[key].key for key in block.keys]),
                block.grid,
                block.shape,
                block.dtype,
                block.out_dtype,
                block.orders,
                block.parts,
            )
            for index, block in earlier.layout.blocks.items()
        }
        for p in earlier.placed:
            tensors = [(entry_of[entry.key], at, offsets) for entry, at, offsets in p.tensors]
            self.placed.append(Placed(name, p.stacked, p.sizes, tensors))
        return dataclasses.replace(earlier.layout, name=name, blocks=blocks, attrs=_common_attrs(cells.values()))

    def _place(
        self,
        name: str,
        stack: list[str],
        sizes: dict[str, int],
        tensors: list[tuple[Entry, tuple[int, ...], dict[str, int]]],
    ) -> None:
        """Keep where a variable's tensors went (callers build the list only when some give coordinates)."""
        self.placed.append(Placed(name, tuple(stack), sizes, tensors))

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
                if _shape(entry)[axis] != _shape(ref)[axis]:
                    raise TensorMismatchError(
                        f"variable {name!r}: {_describe(entry)} does not fit {_describe(ref)} along {dims[axis]!r}"
                    )
            for f, axis, i in tile_fields:
                first = sizes[f].setdefault(pos[i], entry)
                if _shape(first)[axis] != _shape(entry)[axis]:
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
        tile_chunks = {f: tuple(_shape(sizes[f][t])[axis] for t in range(len(values[f]))) for f, axis in tiled.items()}
        offsets = {f: np.cumsum((0, *chunks)).tolist() for f, chunks in tile_chunks.items()}
        lengths = {d: _shape(ref)[a] for a, d in enumerate(dims)}
        lengths.update({dims[axis]: offsets[f][-1] for f, axis in tiled.items()})
        if any(entry.info.coords for entry in cells.values()):
            self._place(
                name,
                stack,
                {**{f: len(values[f]) for f in stack}, **lengths},
                [
                    (
                        entry,
                        tuple(pos[self.fields.index(f)] for f in stack),
                        {dims[axis]: offsets[f][pos[self.fields.index(f)]] for f, axis in tiled.items()},
                    )
                    for pos, entry in cells.items()
                ],
            )
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
        dtype = ref.info.dtype
        stack_chunks = [_split(len(values[f]), group[f]) for f in stack]
        field_of_axis = {axis: f for f, axis in tiled.items()}
        tensor_chunks = [
            tile_chunks[field_of_axis[a]] if a in field_of_axis else (_shape(ref)[a],) for a in range(len(dims))
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
            orders: list[Literal["C", "F"]] = []
            for combo in itertools.product(*ranges):
                at = combo + tiles
                entry = cells.get(tuple([at[i] for i in position]))
                if entry is None:
                    gaps += 1
                    if self.missing == "raise":
                        self.gaps.append(self._gap_key(name, dict(zip(along, at)), values))
                    keys.append(None)
                    orders.append("C")
                else:
                    keys.append(entry.key)
                    orders.append(entry.info.order)
            shape = tuple([chunks[i] for chunks, i in zip(tensor_chunks, tensor_index)])
            blocks[index] = Block(tuple(keys), tuple([len(r) for r in ranges]), shape, dtype, dtype, tuple(orders))
        return _variable(name, (*stack, *dims), dtype, (*stack_chunks, *tensor_chunks), blocks, cells, bool(gaps))

    def _geometry(self, info: wire.TensorInfo) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
        """A block's start, its shape and its global array's shape (row-major), worked out once per header
        object: the tensors of a run share few of them."""
        known = self._geometries.get(id(info))
        if known is None or known[0] is not info:
            placement = _placement(info)
            known = self._geometries[id(info)] = (info, placement.start, view_shape(info), placement.shape)
        return known[1], known[2], known[3]

    def _absorbed(self, cells: dict[tuple[int, ...], Entry]) -> set[str]:
        """The fields that tell apart the blocks of one global array (they give no dimension).

        The concat fields when there are any; else each field whose tensors
        that differ in it alone sit at different starts (ranks), where there
        are such tensors; a field whose tensors differing in it alone sit at
        one start (steps), or that has one value only, is a dimension.
        """
        if self.concat:
            return set(self.concat)
        absorbed = set()
        starts_of = [(pos, self._geometry(entry.info)[0]) for pos, entry in cells.items()]
        for i, f in enumerate(self.fields):
            starts: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
            differ = same = False
            for pos, start in starts_of:
                seen = starts.setdefault(pos[:i] + pos[i + 1 :], set())
                same = start in seen
                if same:
                    break
                differ = differ or bool(seen)
                seen.add(start)
            if differ and not same:
                absorbed.add(f)
        return absorbed

    def _global(self, name: str, cells: dict[tuple[int, ...], Entry], values: dict[str, list[Any]]) -> VariableLayout:
        """A variable whose tensors are blocks of a global array: each placed at its start."""
        ref = cells[min(cells)]
        dims, dtype, shape = _dims(ref), ref.info.dtype, self._geometry(ref.info)[2]
        checked: set[int] = set()  # what is checked depends on the header alone: once per header object
        for entry in cells.values():
            if id(entry.info) in checked:
                continue
            checked.add(id(entry.info))
            if entry.info.dtype != dtype or _dims(entry) != dims:
                raise TensorMismatchError(f"variable {name!r}: {_describe(entry)} does not fit {_describe(ref)}")
            if self._geometry(entry.info)[2] != shape:
                raise TensorMismatchError(
                    f"variable {name!r}: {entry.key!r} is a block of a global array of shape "
                    f"{self._geometry(entry.info)[2]}, {ref.key!r} of one of shape {shape}"
                )
        absorbed = self._absorbed(cells)
        stack = [f for f in self.fields if f not in absorbed]
        clash = set(dims) & set(stack)
        if clash:
            raise ValueError(
                f"variable {name!r}: tensor dimension(s) {sorted(clash)} of {ref.key!r} have the name of a "
                f"template field of {self.template.template!r}"
            )
        at_stack = [self.fields.index(f) for f in stack]
        at_absorbed = [self.fields.index(f) for f in self.fields if f in absorbed]
        # The chunks along each axis: between every edge of every block (one chunk per block for a grid of them).
        edge_sets = [{0, n} for n in shape]
        for start, size in {self._geometry(entry.info)[:2] for entry in cells.values()}:
            for a, edge_set in enumerate(edge_sets):
                edge_set.update((start[a], start[a] + size[a]))
        edges = [sorted(e) if n else [0, 0] for e, n in zip(edge_sets, shape)]
        edge_index = [{v: i for i, v in enumerate(e)} for e in edges]
        tensor_chunks = [tuple(np.diff(e).tolist()) for e in edges]
        # Which block covers each chunk, in each global array (one per combination of the stacked fields); the
        # arrays of a run (its steps) are mostly cut alike: each way of cutting is worked out once.
        groups: dict[tuple[int, ...], list[Entry]] = {}
        for pos, entry in sorted(cells.items()):
            groups.setdefault(tuple(pos[i] for i in at_stack), []).append(entry)
        cuts: dict[tuple[Any, ...], np.ndarray] = {}
        owners: dict[tuple[int, ...], tuple[list[Entry], np.ndarray]] = {}
        for at, members in groups.items():
            cut = tuple(self._geometry(entry.info)[:2] for entry in members)
            owner = cuts.get(cut)
            if owner is None:
                owner = cuts[cut] = self._owners(name, members, edge_index, tensor_chunks, shape)[1]
            owners[at] = (members, owner)
        self._missing(name, cells, values, stack, at_stack, at_absorbed, owners, edges)
        if any(entry.info.coords for entry in cells.values()):
            self._place(
                name,
                stack,
                {**{f: len(values[f]) for f in stack}, **dict(zip(dims, shape))},
                [
                    (entry, at, dict(zip(dims, self._geometry(entry.info)[0])))
                    for at, members in groups.items()
                    for entry in members
                ],
            )
        group = dict(self.group)
        if self.auto and stack:  # group along the last field dimension up to dask's array.chunk-size
            most = int(np.prod([max(c) for c in tensor_chunks], dtype=np.int64)) * dtype.itemsize
            group[stack[-1]] = max(1, _chunk_bytes() // max(most, 1))
        stack_chunks = [_split(len(values[f]), group[f]) for f in stack]
        starts = [np.cumsum((0, *c)).tolist() for c in stack_chunks]
        cells_of = list(itertools.product(*(range(len(c)) for c in tensor_chunks)))
        taken: dict[int, dict[tuple[int, ...], tuple[int, Part | None]]] = {}  # per cut: chunk -> (block, part)
        for owner_members, owner in owners.values():
            if id(owner) not in taken:
                taken[id(owner)] = self._taken(owner, owner_members, cells_of, edges, tensor_chunks)
        blocks: dict[tuple[int, ...], Block] = {}
        gaps = False
        n_stack = len(stack)
        for index in itertools.product(*(range(len(c)) for c in (*stack_chunks, *tensor_chunks))):
            cell = index[n_stack:]
            ranges = [range(starts[i][b], starts[i][b + 1]) for i, b in enumerate(index[:n_stack])]
            size = tuple([chunks[i] for chunks, i in zip(tensor_chunks, cell)])
            keys: list[str | None] = []
            orders: list[Literal["C", "F"]] = []
            parts: list[Part | None] = []
            for at in itertools.product(*ranges):
                found = owners.get(at)
                k, part = taken[id(found[1])][cell] if found is not None else (-1, None)
                if k < 0:
                    gaps = True
                    keys.append(None)
                    orders.append("C")
                    parts.append(None)
                    continue
                entry = found[0][k]  # type: ignore[index]
                keys.append(entry.key)
                orders.append(entry.info.order)
                parts.append(part)
            part_list = tuple(parts) if any(p is not None for p in parts) else ()
            grid = tuple([len(r) for r in ranges])
            blocks[index] = Block(tuple(keys), grid, size, dtype, dtype, tuple(orders), part_list)
        return _variable(name, (*stack, *dims), dtype, (*stack_chunks, *tensor_chunks), blocks, cells, bool(gaps))

    def _taken(
        self,
        owner: np.ndarray,
        members: list[Entry],
        cells_of: list[tuple[int, ...]],
        edges: list[list[int]],
        chunks: list[tuple[int, ...]],
    ) -> dict[tuple[int, ...], tuple[int, Part | None]]:
        """Per chunk of one way of cutting a global array: which block covers it (-1: none), and the part of that
        block it takes (``None``: all of it)."""
        out: dict[tuple[int, ...], tuple[int, Part | None]] = {}
        for cell in cells_of:
            k = int(owner[cell])
            if k < 0:
                out[cell] = (-1, None)
                continue
            start, whole, _ = self._geometry(members[k].info)
            size = tuple([c[i] for c, i in zip(chunks, cell)])
            inside = tuple([e[i] - s for e, i, s in zip(edges, cell, start)])
            out[cell] = (k, None if size == whole else (whole, inside))
        return out

    def _owners(
        self,
        name: str,
        members: list[Entry],
        edge_index: list[dict[int, int]],
        chunks: list[tuple[int, ...]],
        shape: tuple[int, ...],
    ) -> tuple[list[Entry], np.ndarray]:
        """The blocks of one global array and, per chunk, which of them covers it (-1: none)."""
        owner = np.full(tuple(len(c) for c in chunks), -1, dtype=np.int64)
        for k, entry in enumerate(members):
            start, size, _ = self._geometry(entry.info)
            # along a global length of 0, every block holds the one (empty) chunk
            region = tuple(
                slice(ix[s], ix[s + n]) if g else slice(0, 1) for ix, s, n, g in zip(edge_index, start, size, shape)
            )
            taken = owner[region]
            if np.any(taken >= 0):
                other = members[int(np.asarray(taken)[np.asarray(taken) >= 0].flat[0])]
                raise TensorMismatchError(
                    f"variable {name!r}: blocks {other.key!r} (shape {_shape(other)} at "
                    f"{self._geometry(other.info)[0]}) and {entry.key!r} (shape {size} at {start}) overlap in "
                    f"their global array of shape {shape}"
                )
            owner[region] = k
        return members, owner

    def _missing(
        self,
        name: str,
        cells: dict[tuple[int, ...], Entry],
        values: dict[str, list[Any]],
        stack: list[str],
        at_stack: list[int],
        at_absorbed: list[int],
        owners: dict[tuple[int, ...], tuple[list[Entry], np.ndarray]],
        edges: list[list[int]],
    ) -> None:
        """With missing="raise": the keys a global array lacks (those of blocks seen in others), else the first
        part of it that no block covers."""
        if self.missing != "raise":
            return
        absorbed = [self.fields[i] for i in at_absorbed]
        seen = sorted({tuple([pos[i] for i in at_absorbed]) for pos in cells})
        have = {(tuple([pos[i] for i in at_stack]), tuple([pos[i] for i in at_absorbed])) for pos in cells}
        uncovered: dict[int, np.ndarray] = {}  # per way of cutting (owner array): the chunks no block covers
        for at in itertools.product(*(range(len(values[f])) for f in stack)):
            lacking = [b for b in seen if (at, b) not in have]
            for b in lacking:
                self.gaps.append(self._gap_key(name, {**dict(zip(stack, at)), **dict(zip(absorbed, b))}, values))
            if at not in owners or lacking:
                continue
            owner = owners[at][1]
            holes = uncovered.get(id(owner))
            if holes is None:
                holes = uncovered[id(owner)] = np.argwhere(owner < 0)
            if len(holes):
                cell = holes[0]
                where = ", ".join(f"{e[i]}:{e[i + 1]}" for e, i in zip(edges, cell))
                fields = ", ".join(f"{f}={values[f][i]!r}" for f, i in zip(stack, at))
                self.holes.append(
                    f"variable {name!r}{' at ' + fields if fields else ''}: no block covers [{where}] of its "
                    f"global array of shape {tuple(e[-1] for e in edges)}"
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
        For tensors with a ``block``: the fields that tell blocks apart
        (default: found from the blocks' starts).
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
        (other than along a concat dimension), or some have a block and
        others none, or their blocks overlap or disagree on the global shape,
        or tensors give a coordinate different values, naming two such keys.
    """
    if missing not in ("raise", "nan"):
        raise ValueError(f"missing must be 'raise' or 'nan', got {missing!r}")
    if not entries:
        raise ValueError("no tensors to lay out")
    planner = _Planner(template, key_of, concat or {}, chunks or {}, missing)
    return planner.plan(entries, default_name)


def _variable(
    name: str,
    dims: tuple[str, ...],
    dtype: np.dtype,
    chunks: tuple[tuple[int, ...], ...],
    blocks: dict[tuple[int, ...], Block],
    cells: Mapping[Any, Entry],
    gaps: bool,
) -> VariableLayout:
    """The layout of one variable; with gaps (filled with NaN) its blocks return a NaN-able dtype."""
    if gaps:
        for block in blocks.values():
            block.out_dtype = _with_nan(dtype)
    return VariableLayout(
        name=name,
        dims=dims,
        dtype=_with_nan(dtype) if gaps else dtype,
        chunks=chunks,
        blocks=blocks,
        attrs=_common_attrs(cells.values()),
    )
