"""The bridge on a real distributed.LocalCluster with worker processes: chunks are read and written there."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from distributed import Client as DaskClient
from distributed import LocalCluster

import simdask
from simdask.bridge import recipe


@pytest.fixture(scope="module")
def dask_client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with DaskClient(cluster) as client:
            yield client


@pytest.fixture(params=["standalone", "cluster"])
def store_client(request, monkeypatch):
    """A client with its own options, so its recipe is used by no other test in this process."""
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN"):
        monkeypatch.delenv(name, raising=False)
    store = request.getfixturevalue(f"{request.param}_store")
    with simdask.Client(store.address, socket_timeout=77.0 + len(request.param)) as client:
        client.flush()
        yield client


def _holds_client(state: bytes) -> bool:
    from simdask.bridge import recipe

    return state in recipe._CLIENTS


def _read_by_workers_only(dask_client, client) -> bool:
    state = recipe.ClientRecipe(client).__getstate__()
    return not _holds_client(state) and any(dask_client.run(_holds_client, state).values())


def test_chunks_are_read_on_the_workers(dask_client, store_client):
    rng = np.random.default_rng(1)
    widths = [3, 1, 4]
    full = rng.random((5, 2, sum(widths)))
    edges = np.cumsum([0, *widths])
    for s in range(5):
        for r in range(3):
            block = np.asfortranarray(full[s, :, edges[r] : edges[r + 1]])
            store_client.put_tensor(f"r{r}/T_{s}", block, dims=("y", "x"), attrs={"units": "K"})
    ds = simdask.open_dataset("r{rank:d}/{var}_{step:d}", store_client, concat={"rank": "x"})
    assert ds.T.dims == ("step", "x", "y")  # F-ordered blocks open in their memory's row-major order
    mean = ds.T.mean("step").compute()
    np.testing.assert_allclose(mean.transpose("y", "x").values, full.mean(axis=0))
    assert ds.T.attrs == {"units": "K"}
    np.testing.assert_allclose(float(ds.T.std().compute()), full.std())
    assert _read_by_workers_only(dask_client, store_client)


def test_to_store_writes_dask_chunks_from_the_workers(dask_client, store_client):
    data = np.arange(6 * 40, dtype=np.int32).reshape(6, 40)
    array = xr.DataArray(da.from_array(data, chunks=(2, 10)), dims=("step", "x"), name="w", attrs={"k": 1})
    names = simdask.to_store(array, "out/{var}.{step:d}", store_client)
    assert names == [f"out/w.{s}" for s in range(6)]
    assert _read_by_workers_only(dask_client, store_client)  # the workers wrote them
    for s in range(6):
        np.testing.assert_array_equal(store_client.get_tensor(f"out/w.{s}"), data[s])
    assert store_client.tensor_info("out/w.3").attrs == {"k": 1}
    chunks = simdask.to_store(
        da.from_array(data, chunks=(3, 25)), "blk{i:d}.{j:d}", store_client, concat={"i": "dim_0", "j": "dim_1"}
    )
    assert len(chunks) == 4
    np.testing.assert_array_equal(store_client.get_tensor("blk1.1"), data[3:, 25:])


def test_to_zarr_on_disk_and_reopen(dask_client, store_client, tmp_path):
    for s in range(6):
        store_client.put_tensor(f"u.{s}", np.full((3, 4), s, dtype=np.float32), dims=("y", "x"), attrs={"units": "m"})
    path = tmp_path / "run.zarr"
    simdask.to_zarr("{var}.{step:d}", path, store_client, sel={"step": slice(2, 4)})
    kept = xr.open_zarr(path)
    assert kept.u.dims == ("step", "y", "x") and kept.u.attrs == {"units": "m"}
    assert kept.step.values.tolist() == [2, 3, 4]
    np.testing.assert_array_equal(kept.u.values, np.stack([np.full((3, 4), s, np.float32) for s in (2, 3, 4)]))
    with pytest.raises(Exception, match="already exists|contains"):
        simdask.to_zarr("{var}.{step:d}", path, store_client)
    simdask.to_zarr("{var}.{step:d}", path, store_client, mode="w")
    assert xr.open_zarr(path).sizes["step"] == 6


def test_xarray_to_zarr_and_open_zarr_on_the_store(dask_client, store_client):
    data = np.random.default_rng(2).random((8, 6, 5))
    ds = xr.Dataset(
        {"u": (("t", "y", "x"), da.from_array(data, chunks=(2, 3, 5)), {"units": "m/s"})},
        coords={"t": np.arange(8) * 0.5},
    )
    zstore = simdask.ZarrStore("exp/zarr-on-store", store_client)
    ds.to_zarr(zstore, zarr_format=3, consolidated=False)  # chunks written by the workers through the store
    back = xr.open_zarr(zstore, consolidated=False)
    xr.testing.assert_identical(back.compute(), ds.compute())
    np.testing.assert_allclose(float(back.u.mean().compute()), data.mean())
    assert sorted(zstore._children("")) == ["t", "u", "zarr.json"]


def test_grouped_chunks_on_the_workers_equal_a_local_compute(dask_client, store_client):
    """The default chunks (several keys per task, read in rounds) give on the cluster what they give locally."""
    rng = np.random.default_rng(3)
    full = rng.random((9, 4, 5))
    for s in range(9):
        store_client.put_tensor(f"grp/w_{s}", np.zeros(2))
        if s != 4:  # a gap in u: NaN
            store_client.put_tensor(f"grp/u_{s}", np.asfortranarray(full[s].T), dims=("x", "y"))
    ds = simdask.open_dataset("grp/{var}_{step:d}", store_client, missing="nan")
    assert ds.u.data.npartitions == 1
    by_step = simdask.open_dataset("grp/{var}_{step:d}", store_client, missing="nan", chunks={"step": 2})
    reduced = {name: d.u.max(("x", "y")) for name, d in (("grouped", ds), ("pairs", by_step))}
    local = {name: r.compute(scheduler="sync") for name, r in reduced.items()}
    on_workers = {name: r.compute() for name, r in reduced.items()}
    expected = full.max(axis=(1, 2))
    expected[4] = np.nan
    for name in reduced:
        np.testing.assert_array_equal(local[name].values, expected)
        np.testing.assert_array_equal(on_workers[name].values, expected)
    np.testing.assert_array_equal(ds.u.isel(step=7).compute().values, full[7])
