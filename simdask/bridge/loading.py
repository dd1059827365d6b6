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
from .layout import Block
from .recipe import ClientRecipe

__all__ = ["load_block", "write_block"]


def load_block(recipe: ClientRecipe, block: Block) -> np.ndarray:
    """The array of one block: its keys read in one pipelined round trip (per shard), gaps filled with NaN.

    Tensors are received straight into (pooled) memory of the result.
    """
    session = recipe.client().session
    if len(block.keys) == 1 and block.keys[0] is not None and block.out_dtype == block.dtype:
        out = pool.empty(block.shape, block.dtype, order=block.order)
        _read(session, [block.keys[0]], [out])
        return out[(None,) * len(block.grid)]
    out = pool.empty(block.grid + block.shape, block.out_dtype)
    cells = out.reshape((-1, *block.shape))
    present = [(i, key) for i, key in enumerate(block.keys) if key is not None]
    for i, key in enumerate(block.keys):
        if key is None:
            cells[i] = np.nan
    if block.out_dtype == block.dtype:
        _read(session, [key for _, key in present], [cells[i, ...] for i, _ in present])
    else:  # gaps made the block float: read as stored, then convert
        arrays = [np.empty(block.shape, block.dtype, order=block.order) for _ in present]
        _read(session, [key for _, key in present], arrays)
        for (i, _), array in zip(present, arrays):
            cells[i] = array
    return out


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
) -> int:
    """Store ``block`` without its length-1 axes ``drop`` as tensor ``name`` (with the recipe's write prefix).

    Returns the bytes written.
    """
    tensor = np.asarray(block).squeeze(axis=drop)
    recipe.client().put_tensor(name, tensor, dims=dims, attrs=attrs)
    return int(tensor.nbytes)
