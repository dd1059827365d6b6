"""What an xarray DataArray says about itself, as a tensor's description (``docs/protocol.md``).

:meth:`simdask.Client.put_tensor` of a DataArray keeps its dimension names,
its attrs and the coordinates a description can hold: a 0-d number or string
(a coordinate of the key, e.g. the model time of a step) and a numeric
dimension coordinate (a list along its own dimension). Others (datetimes,
2-D or non-dimension 1-D coordinates) cannot be stored with a tensor: write
the DataArray with :func:`simdask.to_store`, or store them as tensors of
their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["describe_dataarray"]


def _is_dataarray(data: Any) -> bool:
    return type(data).__name__ == "DataArray" and type(data).__module__.startswith("xarray")


def describe_dataarray(
    data: Any,
    dims: Sequence[str] | None,
    attrs: Mapping[str, Any] | None,
    coords: Mapping[str, Any] | None,
) -> tuple[Any, Sequence[str] | None, Mapping[str, Any] | None, Mapping[str, Any] | None]:
    """``(array, dims, attrs, coords)`` for ``data``: a DataArray's own, where not given explicitly.

    Anything that is not an xarray DataArray comes back unchanged.

    >>> import xarray as xr
    >>> da = xr.DataArray(np.zeros((2, 3)), dims=("y", "x"), coords={"x": [0.0, 0.5, 1.0], "time": 1.5},
    ...                   attrs={"units": "K"})
    >>> array, dims, attrs, coords = describe_dataarray(da, None, None, None)
    >>> array.shape, dims, attrs, coords
    ((2, 3), ('y', 'x'), {'units': 'K'}, {'x': [0.0, 0.5, 1.0], 'time': 1.5})
    """
    if not _is_dataarray(data):
        return data, dims, attrs, coords
    own: dict[str, Any] = {}
    array_dims = tuple(str(d) for d in data.dims)
    for name, coord in data.coords.items():
        name, kind = str(name), coord.dtype.kind
        if coord.ndim == 0 and kind in "iufU" and name not in array_dims:
            own[name] = coord.values.item()
        elif coord.ndim == 1 and kind in "iuf" and coord.dims == (name,):
            own[name] = np.asarray(coord.values).tolist()
    return (
        data.values,
        array_dims if dims is None else dims,
        dict(data.attrs) if attrs is None else attrs,
        own if coords is None else coords,
    )
