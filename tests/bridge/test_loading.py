"""Reading blocks (issue 14): chunks of several keys read in rounds, selections read only the keys they touch."""

from __future__ import annotations

import dask
import numpy as np
import pytest

import simdask
from simdask.bridge.loading import ROUND_BYTES, rounds, touched


@pytest.fixture
def rng():
    return np.random.default_rng(14)


def test_rounds_pipeline_small_tensors_and_send_large_ones_alone():
    mib = 1 << 20
    assert rounds([]) == []
    assert rounds([8 * mib] * 3) == [(0, 1), (1, 2), (2, 3)]
    assert rounds([100] * 5) == [(0, 5)]
    assert rounds([ROUND_BYTES // 2] * 4) == [(0, 2), (2, 4)]
    assert rounds([10, 8 * mib, 10, 10]) == [(0, 1), (1, 2), (2, 4)]
    assert rounds([10, 20, 30], limit=30) == [(0, 2), (2, 3)]


@pytest.mark.parametrize(
    ("index", "cells"),
    [
        ((slice(None), slice(None)), None),
        ((1,), [4, 5, 6, 7]),
        ((slice(0, 2), 3), [3, 7]),
        ((slice(None, None, 2),), [0, 1, 2, 3, 8, 9, 10, 11]),
        (([2, 0, 2], slice(1, 2)), [1, 9]),
        ((Ellipsis, 1), None),
        ((None, 1), None),
        ((np.array([True, False, True]),), None),
        (2, [8, 9, 10, 11]),
        ((-1, -4), [8]),
        ((slice(5, 9),), []),
    ],
)
def test_touched_cells_of_a_grid(index, cells):
    assert touched((3, 4), index) == cells


def test_a_selection_reads_only_the_keys_it_touches(client, rng):
    data = rng.random((6, 4, 3))
    for s in range(6):
        client.put_tensor(f"sel.{s}", data[s])
    u = simdask.open_dataarray("sel.{step:d}", client)
    assert u.data.chunks[0] == (6,)  # one chunk of every step (chunks="auto")
    for s in (0, 2, 3, 5):
        client.delete_tensor(f"sel.{s}")
    np.testing.assert_array_equal(u[1].values, data[1])
    np.testing.assert_array_equal(u.isel(step=slice(4, 5)).mean("dim_1").values, data[4:5].mean(axis=2))
    with pytest.raises(simdask.KeyNotFoundError, match=r"'sel\.0'"):
        u.load()


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_grouped_chunks_equal_one_chunk_per_key(client, rng, scheduler):
    """Gaps, F order and parts of tensors (blocks off a grid) come out alike however many keys a chunk holds."""
    full = rng.random((5, 4, 6))
    blocks = [(0, 0, 2, 4), (0, 4, 4, 2), (2, 0, 2, 4)]
    for s in range(5):
        for rank, (y, x, ny, nx) in enumerate(blocks):
            if (s, rank) == (3, 1):
                continue  # a missing block: NaN
            block = np.asfortranarray(full[s, y : y + ny, x : x + nx].T)  # as Fortran writes it
            place = {"shape": (6, 4), "start": (x, y)}
            client.put_tensor(f"g{rank}/u_{s}", block, dims=("x", "y"), block=place)
    template = "g{rank:d}/{var}_{step:d}"
    with dask.config.set(scheduler=scheduler):
        per_key = simdask.open_dataset(template, client, missing="nan", chunks={}).u
        grouped = simdask.open_dataset(template, client, missing="nan").u
        in_twos = simdask.open_dataset(template, client, missing="nan", chunks={"step": 2}).u
        assert per_key.data.chunks[0] == (1,) * 5 and grouped.data.chunks[0] == (5,)
        expected = full.copy()
        expected[3, 0:4, 4:6] = np.nan
        for opened in (per_key, grouped, in_twos):
            assert opened.dims == ("step", "y", "x")
            np.testing.assert_array_equal(opened.values, expected)
            np.testing.assert_array_equal(opened[2:4, 1:3].values, expected[2:4, 1:3])
            np.testing.assert_allclose(opened.mean(("y", "x")).values, np.nanmean(expected, axis=(1, 2)))
