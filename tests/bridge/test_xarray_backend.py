"""``xr.open_dataset(template, engine="simdask")``: the xarray backend entry point, on real stores."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import simdask


@pytest.fixture
def field(client):
    """Three steps of a field split into two uneven rank blocks along x (MPI ranks that do not describe blocks)."""
    full = np.random.default_rng(3).random((3, 4, 7))  # step, y, x
    for s in range(3):
        client.put_tensor(f"r0/u_{s}", full[s, :, :3], dims=("y", "x"), attrs={"units": "K"})
        client.put_tensor(f"r1/u_{s}", full[s, :, 3:], dims=("y", "x"), attrs={"units": "K"})
    return full


def test_engine_is_registered():
    assert "simdask" in xr.backends.list_engines()


def test_open_dataset_engine_matches_simdask_open_dataset(client, field):
    template = "r{rank:d}/{var}_{step:d}"
    ds = xr.open_dataset(template, engine="simdask", address=client, concat={"rank": "x"})
    assert ds.u.dims == ("step", "y", "x")
    assert ds.u.attrs == {"units": "K"}
    assert ds.step.values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(ds.u.values, field)
    xr.testing.assert_identical(ds.load(), simdask.open_dataset(template, client, concat={"rank": "x"}).load())


def test_indexing_reads_the_blocks_it_touches(client, field):
    ds = xr.open_dataset("r{rank:d}/{var}_{step:d}", engine="simdask", address=client, concat={"rank": "x"})
    np.testing.assert_array_equal(ds.u.isel(step=1, x=slice(2, 5)).values, field[1, :, 2:5])  # spans both blocks
    np.testing.assert_array_equal(ds.u.isel(step=2, y=3, x=6).values, field[2, 3, 6])
    np.testing.assert_array_equal(ds.u.isel(x=slice(None, None, -2)).values, field[:, :, ::-2])
    np.testing.assert_array_equal(ds.u.isel(x=[0, 4, 6], step=[2, 0]).values, field[[2, 0]][:, :, [0, 4, 6]])
    assert ds.u.isel(x=slice(5, 5)).shape == (3, 4, 0)


def test_chunks_follow_the_keys(client, field):
    ds = xr.open_dataset("r{rank:d}/{var}_{step:d}", engine="simdask", address=client, concat={"rank": "x"}, chunks={})
    assert ds.u.chunks == ((1, 1, 1), (4,), (3, 4))
    np.testing.assert_allclose(ds.u.mean("x").compute().values, field.mean(axis=2))


def test_backend_parameters(client, field):
    by_two = xr.open_dataset(
        "r{rank:d}/{var}_{step:d}", engine="simdask", address=client, concat={"rank": "x"}, key_chunks={"step": 2}
    )
    np.testing.assert_array_equal(by_two.u.values, field)
    dropped = xr.open_dataset(
        "r{rank:d}/{var}_{step:d}", engine="simdask", address=client, concat={"rank": "x"}, drop_variables="u"
    )
    assert list(dropped.data_vars) == []
    with pytest.raises(simdask.KeyNotFoundError, match="absent_"):
        xr.open_dataset("absent_{step:d}", engine="simdask", address=client)
    with pytest.raises(TypeError, match="key template"):
        xr.open_dataset(b"bytes", engine="simdask", address=client)


def test_address_from_the_environment(store, client, field, monkeypatch):
    monkeypatch.setenv("SIMDASK_ADDRESS", store.address)
    ds = xr.open_dataset("r0/u_{step:d}", engine="simdask", name="u")
    np.testing.assert_array_equal(ds.u.values, field[:, :, :3])
