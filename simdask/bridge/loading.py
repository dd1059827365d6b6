"""Tasks that run on Dask workers: read a block of tensors, write a block as a tensor.

Each task gets a :class:`~simdask.bridge.recipe.ClientRecipe` and uses its
process's client for it, so a worker process keeps its own connections and
no data pass through the process that built the graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import TensorMismatchError
from ..protocol import Session, tensors
from .buffers import pool
from .layout import Block, Part
from .recipe import ClientRecipe

__all__ = ["load_block", "write_block"]


def load_block(recipe: ClientRecipe, block: Block) -> np.ndarray:
    """The array of one block: its keys read in one pipelined round trip (per shard), gaps filled with NaN.

    Tensors are received straight into (pooled) memory of the result; one
    stored in F order lands in the transpose of its place there (the block's
    shapes are row-major), one of which the block holds a part is read whole
    first.
    """
    session = recipe.client().session
    orders = block.orders or ("C",) * len(block.keys)
    parts = block.parts or (None,) * len(block.keys)
    if len(block.keys) == 1 and block.keys[0] is not None and block.out_dtype == block.dtype and parts[0] is None:
        out = pool.empty(block.shape, block.dtype)
        _read(session, [block.keys[0]], [_as_stored(out, orders[0])])
        return out[(None,) * len(block.grid)]
    out = pool.empty(block.grid + block.shape, block.out_dtype)
    cells = out.reshape((-1, *block.shape))
    keys: list[str] = []
    targets: list[np.ndarray] = []
    staged: list[tuple[int, np.ndarray, Part | None]] = []
    for i, key in enumerate(block.keys):
        if key is None:
            cells[i] = np.nan
            continue
        keys.append(key)
        if parts[i] is None and block.out_dtype == block.dtype:
            targets.append(_as_stored(cells[i, ...], orders[i]))
        else:  # a part of the tensor, or gaps made the block float: read as stored, then copy
            part = parts[i]
            whole = np.empty(block.shape if part is None else part[0], block.dtype)
            targets.append(_as_stored(whole, orders[i]))
            staged.append((i, whole, part))
    _read(session, keys, targets)
    for i, whole, part in staged:
        cells[i] = whole if part is None else whole[tuple(slice(s, s + n) for s, n in zip(part[1], block.shape))]
    return out


def _as_stored(view: np.ndarray, order: str) -> np.ndarray:
    """Row-major memory as a tensor stored in ``order`` lies in it: an F-ordered tensor is its transpose."""
    return view.T if order == "F" else view


def _read(session: Session, keys: list[str], outs: list[np.ndarray]) -> None:
    try:
        tensors.get_tensors(session, keys, outs=outs, what="load")
    except TensorMismatchError as exc:
        raise TensorMismatchError(f"{exc}: it changed since it was opened; open it again") from None


def write_block(
    recipe: ClientRecipe,
    name: str,
    block: np.ndarray,
    drop: tuple[int, ...],
    dims: Sequence[str],
    attrs: Mapping[str, Any],
    coords: Mapping[str, Any] | None = None,
    block_of: Mapping[str, Sequence[int]] | None = None,
) -> int:
    """Store ``block`` without its length-1 axes ``drop`` as tensor ``name`` (with the recipe's write prefix),
    described by ``dims``, ``attrs``, ``coords`` and where it sits in a global array (``block_of``).

    Returns the bytes written.
    """
    tensor = np.asarray(block).squeeze(axis=drop)
    recipe.client().put_tensor(name, tensor, dims=dims, attrs=attrs, coords=coords, block=block_of)
    return int(tensor.nbytes)
