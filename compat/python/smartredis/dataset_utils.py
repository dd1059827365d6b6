"""``DatasetConverter``: SmartRedis's metadata convention that describes a Dataset's tensors as xarray DataArrays.

The convention (SmartRedis's, so that datasets written by any SmartRedis
client convert the same way): the string field ``_xarray_data_names`` lists
the variables (tensor names); for each variable ``v`` the string fields
``_xarray_v_dim_names``, ``_xarray_v_coord_names`` and ``_xarray_v_attr_names``
hold comma-joined field names (``null``: none). Each dimension field holds
the dimension's name as its first string; each attribute field its value;
each coordinate name is a variable of its own (its tensor, dims and attrs).
Only the first entry of a convention field counts.
"""

from __future__ import annotations

from typing import Any

from .dataset import Dataset
from .error import RedisRuntimeError
from .util import exception_handler, typecheck

__all__ = ["DatasetConverter"]

_DATA_NAMES = "_xarray_data_names"
_KINDS = ("dim_names", "coord_names", "attr_names")


def _string_list(value: str | list[str] | None, label: str, item: str) -> list[str] | None:
    """``value`` as a list of strings (``None`` stays ``None``); a :class:`TypeError` for anything else."""
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    typecheck(names, label, list)
    for name in names:
        typecheck(name, item, str)
        if not name:
            raise ValueError(f"{label} has an empty name")
    return names


def _fields(dataset: Dataset, variable: str, kind: str) -> list[str]:
    """The field names the convention field ``_xarray_<variable>_<kind>`` lists (none for ``null``)."""
    joined = dataset.get_meta_strings(f"_xarray_{variable}_{kind}")[0]
    return [] if joined in ("", "null") else joined.split(",")


class DatasetConverter:
    """Write and read SmartRedis's xarray description of a Dataset's tensors."""

    @staticmethod
    @exception_handler
    def add_metadata_for_xarray(
        dataset: Dataset,
        data_names: str | list[str],
        dim_names: str | list[str],
        coord_names: str | list[str] | None = None,
        attr_names: str | list[str] | None = None,
    ) -> None:
        """Describe variables ``data_names``: their dimension, coordinate and attribute fields.

        ``dim_names`` and ``attr_names`` name metadata string fields already in
        the dataset (each holding a dimension name or an attribute value);
        ``coord_names`` names variables described by a call of their own.
        """
        typecheck(dataset, "dataset", Dataset)
        variables = _string_list(data_names, "data_names", "data_name")
        described = {
            "dim_names": _string_list(dim_names, "dim_names", "dim_name"),
            "coord_names": _string_list(coord_names, "coord_names", "coord_name"),
            "attr_names": _string_list(attr_names, "attr_names", "attr_name"),
        }
        assert variables is not None
        for variable in variables:
            dataset.add_meta_string(_DATA_NAMES, variable)
            for kind in _KINDS:
                names = described[kind]
                dataset.add_meta_string(f"_xarray_{variable}_{kind}", ",".join(names) if names else "null")

    @staticmethod
    @exception_handler
    def transform_to_xarray(dataset: Dataset) -> dict[str, Any]:
        """Every described variable that is no other's coordinate, as an ``xarray.DataArray``: name -> DataArray.

        A field or tensor the description names but the dataset lacks raises
        :class:`~smartredis.error.RedisKeyError`.
        """
        typecheck(dataset, "dataset", Dataset)
        try:
            import xarray as xr
        except ImportError:  # pragma: no cover (a dependency of simdask)
            raise RedisRuntimeError("xarray must be installed to transform a Dataset to xarray") from None

        def variable(name: str) -> tuple[list[str], Any, dict[str, str]]:
            dims = [dataset.get_meta_strings(field)[0] for field in _fields(dataset, name, "dim_names")]
            attrs = {field: dataset.get_meta_strings(field)[0] for field in _fields(dataset, name, "attr_names")}
            return dims, dataset.get_tensor(name), attrs

        names = list(dict.fromkeys(dataset.get_meta_strings(_DATA_NAMES)))
        coordinates = {name: _fields(dataset, name, "coord_names") for name in names}
        is_coordinate = {c for listed in coordinates.values() for c in listed}
        arrays = {}
        for name in names:
            if name in is_coordinate:
                continue
            dims, data, attrs = variable(name)
            coords = {c: variable(c) for c in coordinates[name]}
            arrays[name] = xr.DataArray(data, coords=coords, dims=dims, attrs=attrs, name=name)
        return arrays
