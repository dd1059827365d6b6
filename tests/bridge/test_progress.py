"""Progress bars of to_store and to_zarr: shown where asked (Jupyter, a terminal), never in logs, optional."""

from __future__ import annotations

import sys

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

import simdask
from simdask import _progress


@pytest.fixture
def sd(standalone_store, monkeypatch):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(_progress, "DELAY_S", 0)  # these copies are quick: show their bars at once
    with simdask.Client(standalone_store.address) as client:
        client.flush()
        yield client


def _copy(client, tmp_path) -> None:
    """A numpy copy (bytes from here), a dask copy (tasks) and a zarr copy (tasks)."""
    steps = xr.DataArray(np.zeros((4, 1000)), dims=("step", "x"), name="u")
    simdask.to_store(steps, "u.step{step:d}", client)
    simdask.to_store(da.ones((4, 10), chunks=(1, 10)), "d.block{b:d}", client, concat={"b": "dim_0"})
    simdask.to_zarr("u.step{step:d}", tmp_path / "u.zarr", client)


def test_bars_show_when_asked(sd, tmp_path, capfd):
    with dask.config.set({"simdask.progress": True}):  # as in Jupyter or on a terminal
        _copy(sd, tmp_path)
    err = capfd.readouterr().err
    assert "to_store u.step{step:d}: 100%" in err and "32.0k/32.0k" in err  # 4 x 1000 float64, written from here
    assert "to_store d.block{b:d}: 100%" in err and "task" in err
    assert "to_zarr u.step{step:d}: 100%" in err


@pytest.mark.parametrize("setting", [None, False], ids=["output-not-a-terminal", "off"])
def test_nothing_shows_in_logs_or_when_off(sd, tmp_path, capfd, setting):
    with dask.config.set({"simdask.progress": setting}):  # None: pytest's captured output is no terminal
        _copy(sd, tmp_path)
    assert capfd.readouterr().err == ""


def test_without_tqdm_nothing_shows_and_nothing_fails(sd, tmp_path, capfd, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # an import of it fails, as when tqdm is not installed
    with dask.config.set({"simdask.progress": True}):
        _copy(sd, tmp_path)
        assert sd.get_tensor("d.block3").shape == (1, 10)
    assert capfd.readouterr().err == ""
