"""to_store: xarray, dask and numpy data back into the store (threaded scheduler here; workers in test_distributed)."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

import simdask


@pytest.fixture
def dataset():
    data = np.arange(4 * 3 * 5, dtype=np.float32).reshape(4, 3, 5)
    u = xr.DataArray(
        da.from_array(data, chunks=(2, 3, 5)),
        dims=("step", "y", "x"),
        coords={"step": [10, 20, 30, 40]},
        attrs={"units": "m/s"},
    )
    return xr.Dataset({"u": u, "v": -u}), data


def test_one_key_per_variable_and_step_keeps_dims_and_attrs(client, dataset):
    ds, data = dataset
    names = simdask.to_store(ds, "{var}.step{step:d}", client)
    assert names == [f"{v}.step{s}" for v in ("u", "v") for s in (10, 20, 30, 40)]
    info = client.tensor_info("u.step20")
    assert (info.shape, info.dims, info.attrs, info.dtype) == ((3, 5), ("y", "x"), {"units": "m/s"}, np.float32)
    np.testing.assert_array_equal(client.get_tensor("v.step40"), -data[3])
    back = simdask.open_dataset("{var}.step{step:d}", client)
    xr.testing.assert_identical(back.compute(), ds.compute())


def test_one_key_per_array(client, dataset):
    ds, data = dataset
    assert simdask.to_store(ds.u, "whole_u", client) == ["whole_u"]
    assert client.tensor_info("whole_u").dims == ("step", "y", "x")
    np.testing.assert_array_equal(client.get_tensor("whole_u"), data)
    assert simdask.to_store(ds, "final/{var}", client) == ["final/u", "final/v"]
    np.testing.assert_array_equal(client.get_tensor("final/v"), -data)


def test_one_key_per_dask_chunk(client):
    data = np.arange(7 * 6).reshape(7, 6)
    array = da.from_array(data, chunks=((3, 4), (2, 2, 2)))
    names = simdask.to_store(array, "blk{i:d}_{j:d}", client, concat={"i": "dim_0", "j": "dim_1"})
    assert len(names) == 6 and names[0] == "blk0_0"
    np.testing.assert_array_equal(client.get_tensor("blk1_2"), data[3:, 4:])
    back = simdask.open_dataarray("blk{i:d}_{j:d}", client, concat={"i": "dim_0", "j": "dim_1"})
    assert back.data.chunks == array.chunks
    np.testing.assert_array_equal(back.values, data)


def test_numpy_arrays_and_fortran_order(client):
    data = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    assert simdask.to_store(data, "steer", client, dims=("y", "x")) == ["steer"]
    info = client.tensor_info("steer")
    assert (info.order, info.dims) == ("F", ("y", "x"))
    np.testing.assert_array_equal(client.get_tensor("steer"), data)
    assert simdask.to_store(data, "row{y:d}", client, dims=("y", "x")) == ["row0", "row1", "row2"]
    np.testing.assert_array_equal(client.get_tensor("row2"), data[2])
    assert client.tensor_info("row2").dims == ("x",)
    assert simdask.to_store(np.float64(2.5), "scalar", client) == ["scalar"]
    assert client.get_tensor("scalar").shape == ()


def test_nothing_is_written_before_compute(client, dataset):
    ds, data = dataset
    delayed = simdask.to_store(ds.u, "later.{step:d}", client, compute=False)
    assert not client.tensor_exists("later.10")
    assert dask.compute(delayed)[0] == ["later.10", "later.20", "later.30", "later.40"]
    np.testing.assert_array_equal(client.get_tensor("later.30"), data[2])


def test_the_write_prefix_applies(store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "analysis")
    with simdask.Client(store.address) as client:
        simdask.to_store(da.ones((2, 3), chunks=(1, 3)), "r{dim_0:d}", client)
        assert client.key_exists("analysis.r1")


def test_refused_templates(client, dataset):
    ds, _ = dataset
    with pytest.raises(ValueError, match="no \\{var\\} field to tell 2 variables apart"):
        simdask.to_store(ds, "u.{step:d}", client)
    with pytest.raises(ValueError, match="field 'rank' is not a dimension"):
        simdask.to_store(ds, "{var}.{rank:d}", client)
    twice = xr.DataArray(np.zeros((2, 2)), dims=("a", "b"), coords={"a": [1, 1]})
    with pytest.raises(ValueError, match="gives the name 'same1' to several slices"):
        simdask.to_store(twice, "same{a:d}", client)
    assert not client.key_exists("same1")  # nothing written
    with pytest.raises(ValueError, match="takes integers"):
        simdask.to_store(ds.u.assign_coords(step=[0.5, 1, 2, 3]), "u.{step:d}", client)
    with pytest.raises(TypeError, match="got list"):
        simdask.to_store([1, 2], "x", client)
