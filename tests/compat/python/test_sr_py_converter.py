"""DatasetConverter: SmartRedis's xarray metadata convention, in memory and through the store."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from smartredis import Dataset
from smartredis.dataset_utils import DatasetConverter
from smartredis.error import RedisKeyError

LON = np.linspace(0, 360, 6)
LAT = np.linspace(-90, 90, 4)
FIELD = np.arange(24.0).reshape(6, 4)


def described() -> Dataset:
    ds = Dataset("sst")
    ds.add_tensor("sst", FIELD)
    ds.add_tensor("lon", LON)
    ds.add_tensor("lat", LAT)
    for field, value in {"dim_x": "x", "dim_y": "y", "units": "K", "lon_units": "degrees_east"}.items():
        ds.add_meta_string(field, value)
    DatasetConverter.add_metadata_for_xarray(ds, "sst", ["dim_x", "dim_y"], ["lon", "lat"], "units")
    DatasetConverter.add_metadata_for_xarray(ds, "lon", "dim_x", attr_names="lon_units")
    DatasetConverter.add_metadata_for_xarray(ds, ["lat"], ["dim_y"])
    return ds


def expected() -> xr.DataArray:
    return xr.DataArray(
        FIELD,
        dims=["x", "y"],
        coords={"lon": ("x", LON, {"lon_units": "degrees_east"}), "lat": ("y", LAT)},
        attrs={"units": "K"},
        name="sst",
    )


def test_convention_fields():
    ds = described()
    assert ds.get_meta_strings("_xarray_data_names") == ["sst", "lon", "lat"]
    assert ds.get_meta_strings("_xarray_sst_dim_names") == ["dim_x,dim_y"]
    assert ds.get_meta_strings("_xarray_sst_coord_names") == ["lon,lat"]
    assert ds.get_meta_strings("_xarray_lat_attr_names") == ["null"]


def test_transform_in_memory_and_after_the_store(sr_client):
    arrays = DatasetConverter.transform_to_xarray(described())
    assert list(arrays) == ["sst"] and arrays["sst"].identical(expected())
    sr_client.put_dataset(described())
    again = DatasetConverter.transform_to_xarray(sr_client.get_dataset("sst"))
    assert again["sst"].identical(expected())


def test_missing_pieces_are_key_errors():
    ds = described()
    DatasetConverter.add_metadata_for_xarray(ds, "ghost", "dim_x")
    with pytest.raises(RedisKeyError, match="ghost"):
        DatasetConverter.transform_to_xarray(ds)
    bare = Dataset("bare")
    bare.add_tensor("u", np.ones(2))
    with pytest.raises(RedisKeyError, match="_xarray_data_names"):
        DatasetConverter.transform_to_xarray(bare)
    DatasetConverter.add_metadata_for_xarray(bare, "u", "no_such_dim_field")
    with pytest.raises(RedisKeyError, match="no_such_dim_field"):
        DatasetConverter.transform_to_xarray(bare)


def test_argument_types():
    ds = Dataset("d")
    with pytest.raises(TypeError):
        DatasetConverter.add_metadata_for_xarray(ds, 1, "dim")
    with pytest.raises(TypeError):
        DatasetConverter.add_metadata_for_xarray(ds, "u", [1, 2])
    with pytest.raises(TypeError):
        DatasetConverter.add_metadata_for_xarray(ds, "u", "dim", coord_names=3)
    with pytest.raises(TypeError):
        DatasetConverter.add_metadata_for_xarray("not a dataset", "u", "dim")
    with pytest.raises(TypeError):
        DatasetConverter.transform_to_xarray({"u": 1})
    assert ds.get_metadata_field_names() == []  # nothing was added by the refused calls
