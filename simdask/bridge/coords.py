"""Coordinates the tensors describe (their ``coords``), assembled like their data (no I/O).

A coordinate that is a number or a string belongs to the key (the model time
of a step): it becomes a coordinate along the variable's field dimensions,
``time(step)``, dropping those along which it never changes. A list of numbers
is the coordinate along the tensor dimension of its name; a tensor that is
one block of a variable gives the block's part of it. Tensors that give one
coordinate different values at one place are an error naming both keys.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import TensorMismatchError
from .catalog import Entry

__all__ = ["Coordinates", "Placed", "coordinates"]

#: Coordinate name -> (its dimensions, its values).
Coordinates = dict[str, tuple[tuple[str, ...], np.ndarray]]


@dataclass(frozen=True)
class Placed:
    """Where the tensors of one variable went.

    Attributes
    ----------
    name
        The variable.
    stacked
        Its field dimensions, in order.
    sizes
        The length of each of its dimensions.
    tensors
        Each tensor, its index along the field dimensions, and where it
        starts along each of its own dimensions (0 where not given).
    """

    name: str
    stacked: tuple[str, ...]
    sizes: dict[str, int]
    tensors: list[tuple[Entry, tuple[int, ...], dict[str, int]]]


def _same(a: Any, b: Any) -> bool:
    return bool(a == b) or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _equal(a: np.ndarray, b: np.ndarray) -> bool:
    nan_aware = a.dtype.kind in "fc" and b.dtype.kind in "fc"
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=nan_aware))


def _grid(values: dict[tuple[int, ...], tuple[Any, str]], shape: tuple[int, ...]) -> np.ndarray:
    """A scalar coordinate's values over the field dimensions; where no tensor gives one: NaN (None for text)."""
    cells = [values[at][0] if at in values else None for at in np.ndindex(*shape)]
    present = [v for v in cells if v is not None]
    if all(not isinstance(v, str) for v in present):
        return np.array([math.nan if v is None else v for v in cells]).reshape(shape)
    if len(present) == len(cells) and all(isinstance(v, str) for v in present):
        return np.array(cells).reshape(shape)
    out = np.empty(len(cells), dtype=object)
    out[:] = cells
    return out.reshape(shape)


def _reduce(dims: tuple[str, ...], values: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Without the dimensions (of more than one value) along which ``values`` never change."""
    kept = list(dims)
    for axis in reversed(range(values.ndim)):
        first = values.take([0], axis=axis)
        if values.shape[axis] > 1 and _equal(np.broadcast_to(first, values.shape), values):
            values = values.take(0, axis=axis)
            del kept[axis]
    return tuple(kept), values


def _line(p: Placed, dim: str, pieces: dict[tuple[int, tuple[Any, ...]], str]) -> np.ndarray:
    """A coordinate along tensor dimension ``dim`` from the pieces the tensors give; NaN where none does."""
    size = p.sizes[dim]
    arrays = [(offset, np.asarray(values), key) for (offset, values), key in pieces.items()]
    out = np.empty(size, dtype=np.result_type(*(a for _, a, _ in arrays)))
    owner = np.full(size, -1)
    for i, (offset, array, key) in enumerate(arrays):
        where = slice(offset, offset + len(array))
        taken = owner[where] >= 0
        if taken.any() and not _equal(out[where][taken], array[taken]):
            other = arrays[int(owner[where][taken][0])][2]
            raise TensorMismatchError(
                f"variable {p.name!r}: coordinate {dim!r} differs between {other!r} and {key!r} where they overlap"
            )
        out[where] = array
        owner[where] = i
    if (owner < 0).any():
        out = out.astype(np.result_type(out.dtype, np.float64))
        out[owner < 0] = np.nan
    return out


def _of_variable(p: Placed) -> Coordinates:
    scalars: dict[str, dict[tuple[int, ...], tuple[Any, str]]] = {}
    pieces: dict[str, dict[tuple[int, tuple[Any, ...]], str]] = {}
    for entry, at, offsets in p.tensors:
        for name, value in entry.info.coords.items():
            if isinstance(value, list):
                pieces.setdefault(name, {}).setdefault((offsets.get(name, 0), tuple(value)), entry.key)
                continue
            first, key = scalars.setdefault(name, {}).setdefault(at, (value, entry.key))
            if not _same(first, value):
                where = ", ".join(p.stacked) or "variable"
                raise TensorMismatchError(
                    f"variable {p.name!r}: coordinate {name!r} is {first!r} in {key!r} but {value!r} in "
                    f"{entry.key!r}, at the same {where}"
                )
    shape = tuple(p.sizes[d] for d in p.stacked)
    out = {name: _reduce(p.stacked, _grid(values, shape)) for name, values in scalars.items()}
    out.update({dim: ((dim,), _line(p, dim, parts)) for dim, parts in pieces.items()})
    return out


def coordinates(placed: Sequence[Placed], *, taken: Collection[str]) -> Coordinates:
    """The coordinates of a dataset's variables, merged: each name once, with the same values everywhere.

    ``taken`` are names already used (field dimensions, variables), which no
    coordinate may have.
    """
    merged: dict[str, tuple[tuple[str, ...], np.ndarray, str]] = {}
    dims = {d for p in placed for d in p.sizes}
    worked_out: dict[tuple[Any, ...], Coordinates] = {}  # variables whose tensors share headers (and places) agree
    for p in placed:
        alike = (p.stacked, tuple(p.sizes.items()), tuple([(id(e.info), at, *o.items()) for e, at, o in p.tensors]))
        found = worked_out.get(alike)
        if found is None:
            found = worked_out[alike] = _of_variable(p)
        for name, (along, values) in found.items():
            if name in taken:
                raise ValueError(f"variable {p.name!r}: a tensor gives a coordinate {name!r}, a name already used")
            if name in dims and along != (name,):
                raise ValueError(
                    f"variable {p.name!r}: coordinate {name!r} is along {along}, but {name!r} is a dimension"
                )
            first = merged.setdefault(name, (along, values, p.name))
            if first[2] != p.name and not (first[0] == along and _equal(first[1], values)):
                raise TensorMismatchError(f"coordinate {name!r} differs between variables {first[2]!r} and {p.name!r}")
    return {name: (along, values) for name, (along, values, _) in merged.items()}
