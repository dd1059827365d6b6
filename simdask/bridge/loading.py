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
from ..protocol import tensors
from .buffers import pool
from .layout import Block, Part
from .recipe import ClientRecipe
from .turns import machine_turn

__all__ = ["ROUND_BYTES", "BlockReader", "load_block", "rounds", "touched", "write_block"]

#: Tensor bytes a block's read pipelines in one round trip. Valkey spends ~3x the CPU per byte sending large
#: values that queue behind one another (a pipeline of 8 MiB ``GET``s, or of 128 KiB ones past ~512 KiB in all:
#: their replies are copied into its output buffers) than sending one at a time to a reader that takes it at
#: once; small tensors still share a round trip. Values queued for two readers at once cost it the same, so the
#: processes and threads of a machine take turns, a round each (:mod:`.turns`; benchmarks/README.md, "xarray/Dask
#: bridge").
ROUND_BYTES = 512 * 1024


class BlockReader:
    """A block that reads its keys when indexed, as dask's ``getter`` indexes an array.

    Each dask chunk of :func:`simdask.open_dataset` is ``getter(reader,
    index)``, so that dask fuses a later selection into ``index`` (as it does
    for NetCDF files) and only the keys of the cells it touches along the
    block's grid are read: one step of a chunk of many steps reads one key.
    """

    __slots__ = ("recipe", "block")

    def __init__(self, recipe: ClientRecipe, block: Block) -> None:
        self.recipe = recipe
        self.block = block

    @property
    def shape(self) -> tuple[int, ...]:
        return self.block.grid + self.block.shape

    @property
    def dtype(self) -> np.dtype:
        return self.block.out_dtype

    def __getitem__(self, index: Any) -> np.ndarray:
        return load_block(self.recipe, self.block, touched(self.block.grid, index))[index]


def touched(grid: tuple[int, ...], index: Any) -> list[int] | None:
    """The cells of ``grid`` (flat, C order) that ``index`` (numpy indexing of an array whose first axes are the
    grid's) selects from; ``None`` for all of them."""
    items = index if isinstance(index, tuple) else (index,)
    if any(item is None or item is Ellipsis for item in items):
        return None
    picks: list[np.ndarray] = []
    for axis, n in enumerate(grid):
        item = items[axis] if axis < len(items) else slice(None)
        if isinstance(item, slice):
            picks.append(np.arange(n)[item])
        elif isinstance(item, (int, np.integer)):
            picks.append(np.arange(n)[int(item) : int(item) + 1 or None])
        else:
            chosen = np.asarray(item)
            if chosen.dtype == bool or chosen.ndim != 1:
                return None
            picks.append(np.unique(np.arange(n)[chosen]))
    if all(len(p) == n for p, n in zip(picks, grid)):
        return None
    return np.ravel_multi_index(np.ix_(*picks), grid).ravel().tolist() if picks else None


def load_block(recipe: ClientRecipe, block: Block, cells: Sequence[int] | None = None) -> np.ndarray:
    """The array of one block: its keys read in pipelined rounds (:func:`rounds`), gaps filled with NaN.

    Tensors are received straight into (pooled) memory of the result; one
    stored in F order lands in the transpose of its place there (the block's
    shapes are row-major), one of which the block holds a part is read whole
    first. With ``cells`` (flat indices into the block's grid), only those
    are read: the others are left unset.
    """
    orders = block.orders or ("C",) * len(block.keys)
    parts = block.parts or (None,) * len(block.keys)
    if len(block.keys) == 1 and block.keys[0] is not None and block.out_dtype == block.dtype and parts[0] is None:
        out = pool.empty(block.shape, block.dtype)
        _read(recipe, [block.keys[0]], [_as_stored(out, orders[0])])
        return out[(None,) * len(block.grid)]
    out = pool.empty(block.grid + block.shape, block.out_dtype)
    cells_out = out.reshape((-1, *block.shape))
    wanted = range(len(block.keys)) if cells is None else cells
    keys: list[str] = []
    targets: list[np.ndarray] = []
    staged: list[tuple[int, np.ndarray, Part | None]] = []
    for i in wanted:
        key = block.keys[i]
        if key is None:
            cells_out[i] = np.nan
            continue
        keys.append(key)
        if parts[i] is None and block.out_dtype == block.dtype:
            targets.append(_as_stored(cells_out[i, ...], orders[i]))
        else:  # a part of the tensor, or gaps made the block float: read as stored, then copy
            part = parts[i]
            whole = np.empty(block.shape if part is None else part[0], block.dtype)
            targets.append(_as_stored(whole, orders[i]))
            staged.append((i, whole, part))
    _read(recipe, keys, targets)
    for i, whole, part in staged:
        cells_out[i] = whole if part is None else whole[tuple(slice(s, s + n) for s, n in zip(part[1], block.shape))]
    return out


def _as_stored(view: np.ndarray, order: str) -> np.ndarray:
    """Row-major memory as a tensor stored in ``order`` lies in it: an F-ordered tensor is its transpose."""
    return view.T if order == "F" else view


def _read(recipe: ClientRecipe, keys: list[str], outs: list[np.ndarray]) -> None:
    """Receive ``keys`` into ``outs``, pipelined in rounds of about :data:`ROUND_BYTES` (a larger tensor alone),
    one round of this machine's processes and threads at a time per store (:func:`~.turns.machine_turn`)."""
    client = recipe.client()
    session = client.session
    try:
        for start, stop in rounds([out.nbytes for out in outs]):
            with machine_turn(client.address):
                tensors.get_tensors(session, keys[start:stop], outs=outs[start:stop], what="load")
    except TensorMismatchError as exc:
        raise TensorMismatchError(f"{exc}: it changed since it was opened; open it again") from None


def rounds(sizes: Sequence[int], limit: int | None = None) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` ranges of ``sizes`` whose sums stay within ``limit`` (default
    :data:`ROUND_BYTES`); a size over it is a range of its own."""
    limit = ROUND_BYTES if limit is None else limit
    out: list[tuple[int, int]] = []
    start, total = 0, 0
    for i, size in enumerate(sizes):
        if i > start and total + size > limit:
            out.append((start, i))
            start, total = i, 0
        total += size
    if start < len(sizes):
        out.append((start, len(sizes)))
    return out


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
