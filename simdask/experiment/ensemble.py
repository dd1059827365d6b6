"""Ensemble parameters: from ``{name: values}`` to one parameter set per member."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = ["PermStrategy", "expand_params"]

PermStrategy = Literal["all_perm", "step", "random"]


def _values(value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return [value]
    return list(value)


def expand_params(
    params: Mapping[str, Any] | None,
    perm_strategy: PermStrategy = "all_perm",
    *,
    replicas: int | None = None,
    n_models: int | None = None,
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """One parameter set per ensemble member.

    ``"all_perm"``: every combination of the values; ``"step"``: the i-th
    value of each parameter together (all lists the same length);
    ``"random"``: ``n_models`` combinations drawn without repetition
    (``seed`` makes the draw reproducible). Each set is repeated ``replicas``
    times; without parameters, ``replicas`` identical members.

    >>> expand_params({"nu": [0.1, 0.2], "n": [8, 16]})
    [{'nu': 0.1, 'n': 8}, {'nu': 0.1, 'n': 16}, {'nu': 0.2, 'n': 8}, {'nu': 0.2, 'n': 16}]
    >>> expand_params({"nu": [0.1, 0.2], "n": [8, 16]}, "step")
    [{'nu': 0.1, 'n': 8}, {'nu': 0.2, 'n': 16}]
    >>> expand_params(None, replicas=2)
    [{}, {}]
    """
    if replicas is not None and replicas < 1:
        raise ValueError(f"replicas must be >= 1, got {replicas}")
    if not params:
        if replicas is None:
            raise ValueError("an ensemble needs params or replicas")
        return [{} for _ in range(replicas)]
    names = list(params)
    values = [_values(params[name]) for name in names]
    if any(not v for v in values):
        raise ValueError(f"every parameter needs at least one value: {dict(zip(names, values))}")
    if perm_strategy == "all_perm":
        combos = list(itertools.product(*values))
    elif perm_strategy == "step":
        lengths = {len(v) for v in values}
        if len(lengths) != 1:
            sizes = dict(zip(names, map(len, values)))
            raise ValueError(f"perm_strategy='step' needs lists of one length, got {sizes}")
        combos = list(zip(*values))
    elif perm_strategy == "random":
        every = list(itertools.product(*values))
        count = len(every) if n_models is None else n_models
        if not 1 <= count <= len(every):
            raise ValueError(f"n_models must be between 1 and {len(every)} (the combinations), got {n_models}")
        combos = random.Random(seed).sample(every, count)
    else:
        raise ValueError(f"perm_strategy must be 'all_perm', 'step' or 'random', got {perm_strategy!r}")
    sets = [dict(zip(names, combo)) for combo in combos]
    return [dict(s) for s in sets for _ in range(replicas or 1)]
