"""Self-describing tensors in the bridge: global arrays assembled from blocks that say where they sit, coordinates
and attrs from the tensors, and F-ordered (Fortran) blocks opening as the same Dataset as C-ordered ones."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr

import simdask

TEMPLATE = "rank{rank:d}/{var}_{step:d}"


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def edges(sizes: list[int]) -> list[int]:
    return np.cumsum([0, *sizes]).tolist()


def put_blocks(client, full: np.ndarray, splits: list[list[int]], *, var: str = "u", step: int = 0, **described):
    """Each block of ``full`` (split at ``splits`` along each axis) as one rank's tensor, C-ordered, with its block."""
    cuts = [edges(s) for s in splits]
    for rank, cell in enumerate(itertools.product(*(range(len(s)) for s in splits))):
        start = tuple(c[i] for c, i in zip(cuts, cell))
        where = tuple(slice(c[i], c[i + 1]) for c, i in zip(cuts, cell))
        block = {"shape": full.shape, "start": start}
        client.put_tensor(f"rank{rank}/{var}_{step}", np.ascontiguousarray(full[where]), block=block, **described)


def test_uneven_1d_blocks_open_as_the_global_array(client, rng):
    widths = [5, 1, 3, 7]
    starts = edges(widths)
    full = rng.random((3, 16))
    placed_by = [2, 0, 3, 1]  # rank r holds block placed_by[r]: placement comes from start, not from the rank
    for s in range(3):
        for rank, b in enumerate(placed_by):
            part = full[s, starts[b] : starts[b + 1]]
            client.put_tensor(f"rank{rank}/u_{s}", part, dims=("x",), block={"shape": (16,), "start": (starts[b],)})
    ds = simdask.open_dataset(TEMPLATE, client)
    assert ds.u.dims == ("step", "x") and "rank" not in ds.coords
    assert ds.u.data.chunks == ((3,), tuple(widths))  # one chunk per block (steps grouped: chunks="auto")
    np.testing.assert_array_equal(ds.u.values, full)
    by_concat = simdask.open_dataset(TEMPLATE, client, concat={"rank": "x"}, chunks={"step": -1})
    assert by_concat.u.data.chunks == ((3,), tuple(widths))
    np.testing.assert_array_equal(by_concat.u.values, full)


def test_uneven_2d_and_3d_decompositions(client, rng):
    full2 = rng.random((7, 9))
    put_blocks(client, full2, [[3, 4], [2, 6, 1]], var="p", dims=("y", "x"))
    p = simdask.open_dataarray(TEMPLATE, client)
    assert p.dims == ("step", "y", "x") and p.data.chunks == ((1,), (3, 4), (2, 6, 1))
    np.testing.assert_array_equal(p.values[0], full2)
    client.flush()
    full3 = rng.integers(0, 100, (5, 5, 5), dtype=np.int32)
    for s in range(2):
        put_blocks(client, full3 + s, [[2, 3], [1, 4], [3, 2]], var="q", step=s, dims=("z", "y", "x"))
    q = simdask.open_dataarray(TEMPLATE, client)
    assert q.dims == ("step", "z", "y", "x") and q.dtype == np.int32
    assert q.data.chunks == ((2,), (2, 3), (1, 4), (3, 2))
    np.testing.assert_array_equal(q.values, np.stack([full3, full3 + 1]))
    np.testing.assert_array_equal(q.sum(("y", "x")).values, np.stack([full3, full3 + 1]).sum(axis=(2, 3)))


def test_blocks_off_a_grid_and_moving_between_steps(client, rng):
    """Blocks that do not form a grid: chunks fall between all their edges, each read from the block holding it."""
    full = rng.random((2, 4, 6))
    layouts = [  # (start, shape) per rank, one layout per step
        [((0, 0), (2, 2)), ((0, 2), (2, 4)), ((2, 0), (2, 4)), ((2, 4), (2, 2))],
        [((0, 0), (4, 3)), ((0, 3), (4, 3)), None, None],
    ]
    for s, layout in enumerate(layouts):
        for rank, place in enumerate(layout):
            if place is not None:
                (y, x), (ny, nx) = place
                client.put_tensor(
                    f"rank{rank}/u_{s}",
                    full[s, y : y + ny, x : x + nx],
                    dims=("y", "x"),
                    block={"shape": (4, 6), "start": (y, x)},
                )
    ds = simdask.open_dataset(TEMPLATE, client, concat={"rank": "x"}, missing="nan")
    assert ds.u.data.chunks == ((2,), (2, 2), (2, 1, 1, 2))
    np.testing.assert_array_equal(ds.u.values, full)


def test_missing_blocks_raise_naming_them_or_read_as_nan(client, rng):
    full = rng.integers(0, 9, (3, 6), dtype=np.int16)
    for s in range(3):
        put_blocks(client, full[s], [[2, 3, 1]], step=s, dims=("x",))
    client.delete_tensor("rank1/u_2")
    with pytest.raises(simdask.KeyNotFoundError, match=r"1 key\(s\) missing.*'rank1/u_2'"):
        simdask.open_dataset(TEMPLATE, client)
    filled = simdask.open_dataarray(TEMPLATE, client, missing="nan")
    expected = full.astype(np.float64)
    expected[2, 2:5] = np.nan
    assert filled.dtype == np.float64
    np.testing.assert_array_equal(filled.values, expected)
    client.flush()
    for s in range(2):  # rank 1 never wrote: no key is known to be missing, a part of the array is
        client.put_tensor(f"rank0/u_{s}", full[s, :2], dims=("x",), block={"shape": (6,), "start": (0,)})
        client.put_tensor(f"rank2/u_{s}", full[s, 5:], dims=("x",), block={"shape": (6,), "start": (5,)})
    with pytest.raises(simdask.KeyNotFoundError, match=r"'u' at step=0: no block covers \[2:5\] of its global"):
        simdask.open_dataset(TEMPLATE, client)
    holes = simdask.open_dataarray(TEMPLATE, client, missing="nan").values
    np.testing.assert_array_equal(np.isnan(holes), np.isin(np.arange(6), [2, 3, 4])[None, :].repeat(2, axis=0))


def test_blocks_that_do_not_fit_together_are_errors(client, raw):
    client.put_tensor("rank0/a_0", np.zeros(4), block={"shape": (6,), "start": (0,)})
    client.put_tensor("rank1/a_0", np.zeros(3), block={"shape": (6,), "start": (3,)})
    client.put_tensor("rank2/a_0", np.zeros(2), block={"shape": (6,), "start": (4,)})
    with pytest.raises(simdask.TensorMismatchError, match=r"'rank\d/a_0' .* and 'rank\d/a_0' .* overlap"):
        simdask.open_dataset(TEMPLATE, client, concat={"rank": "x"})
    client.flush()
    client.put_tensor("rank0/b_0", np.zeros(3), block={"shape": (6,), "start": (0,)})
    client.put_tensor("rank1/b_0", np.zeros(3))
    with pytest.raises(simdask.TensorMismatchError, match=r"'rank0/b_0' says where it sits .* 'rank1/b_0' does not"):
        simdask.open_dataset(TEMPLATE, client)
    client.put_tensor("rank1/b_0", np.zeros(3), block={"shape": (7,), "start": (3,)})
    with pytest.raises(
        simdask.TensorMismatchError, match=r"global array of shape \(7,\), 'rank0/b_0' of one .* \(6,\)"
    ):
        simdask.open_dataset(TEMPLATE, client)
    with pytest.raises(ValueError, match=r"tensor 'rank1/b_0': a block of shape \(3,\) at \(5,\) does not fit"):
        client.put_tensor("rank1/b_0", np.zeros(3), block={"shape": (7,), "start": (5,)})
    raw.set("rank1/b_0", raw.get("rank1/b_0").replace(b'"start":[3]', b'"start":[5]'))  # as a foreign writer might
    with pytest.raises(simdask.TensorFormatError, match=r"'rank1/b_0' has an invalid description: a block"):
        simdask.open_dataset(TEMPLATE, client)


def test_a_field_with_one_value_stays_a_dimension_unless_concat_names_it(client, rng):
    full = rng.random((2, 5))
    for s in range(2):
        client.put_tensor(f"rank0/u_{s}", full[s], dims=("x",), block={"shape": (5,), "start": (0,)})
    assert simdask.open_dataarray(TEMPLATE, client).dims == ("rank", "step", "x")
    da = simdask.open_dataarray(TEMPLATE, client, concat={"rank": "x"})
    assert da.dims == ("step", "x")
    np.testing.assert_array_equal(da.values, full)


def test_coordinates_and_attrs_from_the_tensors(client, rng):
    full = rng.random((3, 4, 6))
    x, y = np.linspace(0.0, 1.0, 6), np.arange(4) * 10
    for s in range(3):
        for rank, (x0, x1) in enumerate([(0, 2), (2, 6)]):
            client.put_tensor(
                f"rank{rank}/T_{s}",
                full[s, :, x0:x1],
                dims=("y", "x"),
                attrs={"units": "K", "long_name": "temperature"},
                coords={"time": 0.5 * s, "run": "ctl", "x": x[x0:x1], "y": y},
                block={"shape": (4, 6), "start": (0, x0)},
            )
            client.put_tensor(f"rank{rank}/energy_{s}", np.array(s + 10.0 * rank), coords={"time": 0.5 * s})
    ds = simdask.open_dataset(TEMPLATE, client)
    expected = xr.Dataset(
        {
            "T": (("step", "y", "x"), full, {"units": "K", "long_name": "temperature"}),
            "energy": (("rank", "step"), [[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]]),  # no block: rank stacked
        },
        coords={"step": [0, 1, 2], "rank": [0, 1], "time": ("step", [0.0, 0.5, 1.0]), "run": "ctl", "x": x, "y": y},
    )
    xr.testing.assert_identical(ds.compute(), expected)
    client.put_tensor(
        "rank1/T_2", full[2, :, 2:], dims=("y", "x"), coords={"time": 9.0}, block={"shape": (4, 6), "start": (0, 2)}
    )
    with pytest.raises(
        simdask.TensorMismatchError, match=r"coordinate 'time' is 1.0 in 'rank0/T_2' but 9.0 in 'rank1/T_2'"
    ):
        simdask.open_dataset(TEMPLATE, client)
    client.put_tensor(
        "rank1/T_2", full[2, :, 2:], dims=("y", "x"), coords={"step": 2}, block={"shape": (4, 6), "start": (0, 2)}
    )
    with pytest.raises(ValueError, match="coordinate 'step', a name already used"):
        simdask.open_dataset(TEMPLATE, client)


def fortran_and_c(client, rng) -> np.ndarray:
    """theta(z, x) on 2 x 3 uneven blocks (one of them 1 wide), written per rank as C does (theta[nz][nx], dims
    (z, x)) under c*, and as Fortran does (theta(nx, nz) in F order, dims (x, z), shape and start reversed) under
    f*, with units, a time per step and the x coordinate."""
    nz, nx = 5, 8
    rows, cols = edges([2, 3]), edges([4, 1, 3])
    x = np.linspace(-1.0, 1.0, nx)
    steps = rng.random((2, nz, nx))
    for s, theta in enumerate(steps):
        for rank, (i, j) in enumerate(itertools.product(range(2), range(3))):
            (z0, z1), (x0, x1) = rows[i : i + 2], cols[j : j + 2]
            block = np.ascontiguousarray(theta[z0:z1, x0:x1])
            described = {"attrs": {"units": "K"}, "coords": {"time": 60.0 * s, "x": x[x0:x1]}}
            client.put_tensor(
                f"c{rank}_{s}", block, dims=("z", "x"), block={"shape": (nz, nx), "start": (z0, x0)}, **described
            )
            client.put_tensor(
                f"f{rank}_{s}",
                np.asfortranarray(block.T),
                dims=("x", "z"),
                block={"shape": (nx, nz), "start": (x0, z0)},
                **described,
            )
    assert client.tensor_info("f0_0").order == "F" and client.tensor_info("f1_0").order == "C"  # (1, 2): both
    return steps


def test_fortran_and_c_blocks_open_to_the_same_dataset(client, rng):
    steps = fortran_and_c(client, rng)
    from_c = simdask.open_dataset("c{rank:d}_{step:d}", client, name="theta")
    from_fortran = simdask.open_dataset("f{rank:d}_{step:d}", client, name="theta")
    assert from_fortran.theta.dims == ("step", "z", "x") and from_fortran.theta.attrs == {"units": "K"}
    assert from_fortran.theta.data.chunks == from_c.theta.data.chunks == ((2,), (2, 3), (4, 1, 3))
    xr.testing.assert_identical(from_fortran.compute(), from_c.compute())
    np.testing.assert_array_equal(from_fortran.theta.values, steps)
    assert from_fortran.time.dims == ("step",) and from_fortran.time.values.tolist() == [0.0, 60.0]


def test_to_zarr_of_uneven_global_arrays(client, rng, tmp_path):
    fortran_and_c(client, rng)
    path = tmp_path / "theta.zarr"
    written = simdask.to_zarr("f{rank:d}_{step:d}", path, client, name="theta")
    kept = xr.open_zarr(path)
    assert kept.theta.encoding["chunks"] == (2, 3, 4)  # the largest block: zarr needs regular chunks
    xr.testing.assert_identical(kept.compute(), written.compute())
    xr.testing.assert_identical(
        kept.compute(), simdask.open_dataset("c{rank:d}_{step:d}", client, name="theta").compute()
    )


def test_to_store_writes_coords_and_blocks_that_open_back(client, rng):
    import dask.array as da

    data = rng.random((3, 4, 10))
    array = xr.DataArray(
        da.from_array(data, chunks=(1, 4, (3, 5, 2))),
        dims=("step", "y", "x"),
        coords={"step": [0, 1, 2], "time": ("step", [0.0, 1.5, 3.0]), "x": np.arange(10) * 0.1, "y": [0, 1, 2, 3]},
        name="w",
        attrs={"units": "m/s"},
    )
    names = simdask.to_store(array, "w_{step:d}_{b:d}", client, concat={"b": "x"})
    assert len(names) == 9
    info = client.tensor_info("w_1_1")
    assert info.coords == {"time": 1.5, "x": (np.arange(10) * 0.1)[3:8].tolist(), "y": [0, 1, 2, 3]}
    assert info.block == simdask.wire.Placement(shape=(4, 10), start=(0, 3))
    back = simdask.open_dataarray("w_{step:d}_{b:d}", client, name="w")
    assert back.data.chunks == ((3,), (4,), (3, 5, 2))
    xr.testing.assert_identical(back.compute(), array.compute())
    simdask.to_store(array[:1].compute(), "plain_{step:d}", client, coords=False)
    assert client.tensor_info("plain_0").coords == {}


def test_watch_waits_for_every_block_of_a_step(client):
    """A rank that has not written yet is not known to be missing from a step: the blocks' coverage says so."""
    for s in range(2):
        for rank in (0, 1):
            block = {"shape": (6,), "start": (2 * rank,)}
            client.put_tensor(f"rank{rank}/u_{s}", np.full(2, s), dims=("x",), block=block)
    with pytest.raises(simdask.WatchTimeoutError):  # step 0 lacks [4:6], though step 1 has begun
        next(simdask.watch(TEMPLATE, client, timeout=0.3, interval=0.05, progress=False))
    client.put_tensor("rank2/u_0", np.full(2, 0), dims=("x",), block={"shape": (6,), "start": (4,)})
    steps = simdask.watch(TEMPLATE, client, timeout=0.3, interval=0.05, progress=False)
    first = next(steps)
    assert first.u.dims == ("step", "x") and first.step.values.tolist() == [0]
    np.testing.assert_array_equal(first.u.values, np.zeros((1, 6)))
