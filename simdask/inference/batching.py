"""Dynamic batching: join requests for one model along the first dimension, split the results back.

Pure functions over numpy arrays; the serving loop decides when to batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Batch", "plan_batches", "join_inputs", "split_outputs"]


@dataclass
class Batch:
    """Requests (by index) run together, and how many rows each contributes."""

    members: list[int]
    rows: list[int]

    @property
    def total_rows(self) -> int:
        return sum(self.rows)


#: What requests must share to join one batch: per input, its dtype and its shape beyond the first dimension.
_Signature = tuple[tuple[str, tuple[int, ...]], ...]


def _signature(inputs: list[np.ndarray]) -> _Signature:
    return tuple((a.dtype.str, a.shape[1:]) for a in inputs)


def plan_batches(inputs: list[list[np.ndarray]], batch_size: int) -> list[Batch]:
    """Group requests (their input arrays) into batches of at most ``batch_size`` rows.

    Requests join a batch only when every input has the same dtype and the
    same shape beyond the first dimension, and the same first dimension across
    its own inputs. A request that cannot be batched (0-d inputs, more rows
    than ``batch_size``, no inputs) runs alone. Order is kept within a batch.
    """
    batches: list[Batch] = []
    open_batches: dict[_Signature, Batch] = {}
    for index, arrays in enumerate(inputs):
        rows = {a.shape[0] for a in arrays if a.ndim > 0}
        if batch_size <= 0 or not arrays or any(a.ndim == 0 for a in arrays) or len(rows) != 1:
            batches.append(Batch([index], [0]))
            continue
        count = rows.pop()
        key = _signature(arrays)
        batch = open_batches.get(key)
        if batch is None or batch.total_rows + count > batch_size:
            batch = Batch([], [])
            batches.append(batch)
            open_batches[key] = batch
        batch.members.append(index)
        batch.rows.append(count)
    return batches


def join_inputs(batch: Batch, inputs: list[list[np.ndarray]]) -> list[np.ndarray]:
    """The batch's inputs, each concatenated along the first dimension."""
    if len(batch.members) == 1:
        return inputs[batch.members[0]]
    count = len(inputs[batch.members[0]])
    return [np.concatenate([inputs[m][i] for m in batch.members]) for i in range(count)]


def split_outputs(batch: Batch, outputs: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Each member's rows of every output; refuses outputs whose first dimension is not the batch's."""
    if len(batch.members) == 1:
        return [outputs]
    bounds = np.cumsum([0, *batch.rows])
    for i, out in enumerate(outputs):
        if out.ndim == 0 or out.shape[0] != batch.total_rows:
            raise ValueError(
                f"output {i} has shape {out.shape} for a batch of {batch.total_rows} rows: it cannot be split "
                "per request (set batch_size=0 for models that do not map rows to rows)"
            )
    return [[out[bounds[j] : bounds[j + 1]] for out in outputs] for j in range(len(batch.members))]
