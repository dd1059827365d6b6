"""open_dataset/open_dataarray on real stores (standalone, Unix socket, 3-shard cluster), against numpy."""

from __future__ import annotations

import numpy as np
import pytest

import simdask


@pytest.fixture
def rng():
    return np.random.default_rng(4)


def test_one_field_template(client, rng):
    steps = [10, 2, 7]
    data = {s: rng.random((4, 3)) for s in steps}
    for s in steps:
        client.put_tensor(f"u.step{s}", data[s])
    ds = simdask.open_dataset("u.step{step:d}", client)
    assert list(ds.data_vars) == ["u"]
    assert ds.u.dims == ("step", "dim_0", "dim_1")
    assert ds.step.values.tolist() == [2, 7, 10]
    assert ds.u.data.chunks == ((3,), (4,), (3,))  # chunks="auto": the steps grouped up to dask's chunk size
    np.testing.assert_array_equal(ds.u.values, np.stack([data[s] for s in sorted(steps)]))
    per_key = simdask.open_dataset("u.step{step:d}", client, chunks={})
    assert per_key.u.data.chunks == ((1, 1, 1), (4,), (3,))
    np.testing.assert_array_equal(per_key.u.values, ds.u.values)
    np.testing.assert_allclose(float(ds.u.mean()), np.mean([data[s] for s in steps]))


def test_several_fields_stack_in_template_order(client, rng):
    data = rng.random((3, 2, 2, 5))  # rank, var, step, x
    for r in range(3):
        for v, var in enumerate(("T", "p")):
            for s in range(2):
                client.put_tensor(f"rank{r}/{var}_{s}", data[r, v, s], dims=("x",))
    ds = simdask.open_dataset("rank{rank:d}/{var}_{step:d}", client)
    assert sorted(ds.data_vars) == ["T", "p"]
    assert ds.T.dims == ("rank", "step", "x")
    np.testing.assert_array_equal(ds.T.values, data[:, 0])
    np.testing.assert_array_equal(ds.p.values, data[:, 1])
    np.testing.assert_allclose(ds.p.sum("rank").values, data[:, 1].sum(axis=0))


def test_concat_tiles_uneven_blocks(client, rng):
    widths = [2, 5, 1, 3]
    full = rng.random((3, 4, sum(widths)))  # step, y, x
    edges = np.cumsum([0, *widths])
    for s in range(3):
        for r in range(len(widths)):
            client.put_tensor(f"rank{r}/u_{s}", full[s, :, edges[r] : edges[r + 1]], dims=("y", "x"))
    ds = simdask.open_dataset("rank{rank:d}/{var}_{step:d}", client, concat={"rank": "x"})
    assert ds.u.dims == ("step", "y", "x")
    assert ds.u.data.chunks == ((3,), (4,), tuple(widths))
    np.testing.assert_array_equal(ds.u.values, full)
    np.testing.assert_allclose(ds.u.mean("x").values, full.mean(axis=2))
    by_axis = simdask.open_dataset("rank{rank:d}/{var}_{step:d}", client, concat={"rank": 1})
    np.testing.assert_array_equal(by_axis.u.values, full)


def test_two_dimensional_decomposition(client, rng):
    full = rng.random((5, 7))
    rows, cols = [0, 3, 5], [0, 4, 7]
    for i in range(2):
        for j in range(2):
            block = full[rows[i] : rows[i + 1], cols[j] : cols[j + 1]]
            client.put_tensor(f"p{i}.{j}.T", block, dims=("y", "x"))
    da = simdask.open_dataarray("p{py:d}.{px:d}.T", client, concat={"py": "y", "px": "x"}, name="T")
    assert da.name == "T" and da.dims == ("y", "x")
    np.testing.assert_array_equal(da.values, full)


def test_dims_and_attrs_come_from_the_tensors(client):
    for s in range(3):
        client.put_tensor(
            f"T.{s}", np.full((2, 3), float(s)), dims=("lat", "lon"), attrs={"units": "K", "step_time": 0.5 * s}
        )
        client.put_tensor(f"q.{s}", np.zeros(4))
    ds = simdask.open_dataset("{var}.{step:d}", client, missing="nan")
    assert ds.T.dims == ("step", "lat", "lon")
    assert ds.T.attrs == {"units": "K"}  # attrs that differ between steps are not the variable's
    assert ds.q.dims == ("step", "dim_0") and ds.q.attrs == {}


def test_fortran_order_tensors(client, rng):
    """An F-ordered tensor opens in its memory's row-major order: dims reversed, the same labelled values."""
    data = [np.asfortranarray(rng.random((3, 4))) for _ in range(4)]
    for s, a in enumerate(data):
        client.put_tensor(f"f.{s}", a, dims=("i", "j"))
    assert client.tensor_info("f.0").order == "F"
    expected = np.stack(data)
    opened = simdask.open_dataset("f.{step:d}", client).f
    assert opened.dims == ("step", "j", "i") and opened.data.chunks == ((4,), (4,), (3,))
    np.testing.assert_array_equal(opened.transpose("step", "i", "j").values, expected)
    grouped = simdask.open_dataset("f.{step:d}", client, chunks={"step": 3})
    assert grouped.f.data.chunks[0] == (3, 1)
    np.testing.assert_array_equal(grouped.f.values, expected.transpose(0, 2, 1))
    client.put_tensor("f.4", np.ascontiguousarray(rng.random((4, 3))), dims=("j", "i"))  # the same memory, from C
    mixed = simdask.open_dataset("f.{step:d}", client, chunks={"step": 5}).f
    np.testing.assert_array_equal(mixed.values[:4], expected.transpose(0, 2, 1))
    np.testing.assert_array_equal(mixed.values[4], client.get_tensor("f.4"))


def test_zero_dimensional_tensors(client):
    for s in range(5):
        client.put_tensor(f"energy.{s}", np.array(s * 1.5))
    da = simdask.open_dataarray("energy.{step:d}", client)
    assert da.dims == ("step",) and da.shape == (5,)
    np.testing.assert_array_equal(da.values, np.arange(5) * 1.5)
    np.testing.assert_array_equal(simdask.open_dataarray("energy.{step:d}", client, chunks={"step": -1}), da)


def test_missing_step_is_an_error_naming_the_key(client):
    for s in (0, 1, 3):
        client.put_tensor(f"u.step{s}", np.arange(3))
    client.put_tensor("u.step2", np.arange(3))
    client.put_tensor("v.step0", np.arange(3))
    with pytest.raises(simdask.KeyNotFoundError, match=r"3 key\(s\) missing.*'v\.step1', 'v\.step2', 'v\.step3'"):
        simdask.open_dataset("{var}.step{step:d}", client)


def test_missing_steps_filled_with_nan_on_request(client):
    for s in (0, 1, 3):
        client.put_tensor(f"n.{s}", np.full(2, s, dtype=np.int32))
    da = simdask.open_dataarray("n.{step:d}", client)
    assert da.step.values.tolist() == [0, 1, 3]  # the grid holds the values that exist: no gap yet
    client.put_tensor("m.0", np.ones(2, np.int32))
    client.put_tensor("m.3", np.ones(2, np.int32))
    with pytest.raises(KeyError, match=r"'m\.1'"):
        simdask.open_dataset("{var}.{step:d}", client)
    ds = simdask.open_dataset("{var}.{step:d}", client, missing="nan", chunks={"step": 2})
    assert ds.m.dtype == np.float64 and ds.n.dtype == np.int32  # only a variable with gaps becomes float
    np.testing.assert_array_equal(ds.m.values, [[1, 1], [np.nan] * 2, [1, 1]])
    np.testing.assert_array_equal(ds.n.values, [[0, 0], [1, 1], [3, 3]])
    single = simdask.open_dataset("{var}.{step:d}", client, missing="nan")
    np.testing.assert_array_equal(single.m.values, ds.m.values)


def test_mismatched_tensors_are_errors_naming_both_keys(client):
    client.put_tensor("a.0", np.zeros(3))
    client.put_tensor("a.1", np.zeros(3, np.float32))
    with pytest.raises(simdask.TensorMismatchError, match=r"'a\.1' \(float32.*does not fit 'a\.0' \(float64"):
        simdask.open_dataset("a.{step:d}", client)
    client.put_tensor("b.0", np.zeros((2, 3)))
    client.put_tensor("b.1", np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"'b\.1'.*'b\.0'.*along 'dim_1'"):
        simdask.open_dataset("b.{step:d}", client)
    client.put_tensor("r0.c.0", np.zeros((2, 3)))
    client.put_tensor("r0.c.1", np.zeros((2, 4)))
    with pytest.raises(simdask.TensorMismatchError, match=r"blocks of r=0 differ along 'dim_1'"):
        simdask.open_dataset("r{r:d}.c.{step:d}", client, concat={"r": 1})


def test_grouped_chunks_read_several_keys_per_task(small_chunks_client, rng):
    client = small_chunks_client  # 2 KiB tensors are stored in 256-byte chunks
    data = rng.random((7, 16, 16))
    for s in range(7):
        client.put_tensor(f"big.{s}", data[s])
    assert client.tensor_info("big.0").chunked
    for chunks in ({}, {"step": 3}, {"step": -1}):
        da = simdask.open_dataarray("big.{step:d}", client, chunks=chunks)
        np.testing.assert_array_equal(da.values, data)
    with pytest.raises(ValueError, match="not a field dimension"):
        simdask.open_dataset("big.{step:d}", client, chunks={"dim_0": 4})


def test_the_read_prefix_applies(store, monkeypatch):
    with simdask.Client(store.address) as plain:
        plain.put_tensor("u.0", np.zeros(2))  # not the member's
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "member1")
    with simdask.Client(store.address) as member:
        member.put_tensor("u.0", np.ones(2))
        member.put_tensor("u.1", np.ones(2) * 2)
        member.put_tensor(simdask.END_OF_RUN, np.array(2))
        assert member.tensor_key("u.0") == "member1.u.0"
        ds = simdask.open_dataset("{var}.{step:d}", member)
        assert list(ds.data_vars) == ["u"]
        np.testing.assert_array_equal(ds.u.values, [[1, 1], [2, 2]])
    monkeypatch.delenv("SIMDASK_KEY_PREFIX")
    ds = simdask.open_dataset("{var}", store.address)  # simdask:end and member1.* are no variables here
    assert sorted(ds.data_vars) == ["member1.u.0", "member1.u.1", "u.0"]


def test_nothing_matches(client):
    client.put_tensor("x", np.zeros(1))
    with pytest.raises(simdask.KeyNotFoundError, match=r"no tensor .* matches the key template 'u\.\{step:d\}'"):
        simdask.open_dataset("u.{step:d}", client)


def test_a_foreign_value_is_refused_naming_its_key(client, raw):
    client.put_tensor("t.0", np.zeros(2))
    raw.set("t.1", b"not a tensor at all")
    with pytest.raises(simdask.TensorFormatError, match=r"'t\.1'"):
        simdask.open_dataset("t.{step:d}", client)


def test_opening_reads_headers_only_and_loading_checks_them(client):
    for s in range(3):
        client.put_tensor(f"lazy.{s}", np.full(4, s))
    da = simdask.open_dataarray("lazy.{step:d}", client)
    client.put_tensor("lazy.1", np.full(4, 10))  # same shape: read at compute time
    client.delete_tensor("lazy.2")
    client.put_tensor("lazy.0", np.zeros(5, dtype=np.int64))
    np.testing.assert_array_equal(da[1].values, np.full(4, 10))
    with pytest.raises(simdask.KeyNotFoundError, match=r"'lazy\.2'"):
        da[2].compute()
    with pytest.raises(simdask.TensorMismatchError, match=r"'lazy\.0' has shape \(5,\).* changed since it was opened"):
        da[0].compute()


def test_open_dataarray_needs_one_variable(client):
    client.put_tensor("a.0", np.zeros(1))
    client.put_tensor("b.0", np.zeros(1))
    with pytest.raises(ValueError, match="matches 2 variables"):
        simdask.open_dataarray("{var}.{step:d}", client)
    with pytest.raises(ValueError, match="name= is for templates without"):
        simdask.open_dataset("{var}.{step:d}", client, name="x")


def test_many_keys_one_field(client):
    client.put_tensors({f"s.{i}": np.full(3, i, dtype=np.int16) for i in range(3000)})
    da = simdask.open_dataarray("s.{step:d}", client, chunks={"step": 500})
    assert da.shape == (3000, 3) and da.data.npartitions == 6
    np.testing.assert_array_equal(da.values[:, 0], np.arange(3000))


def test_auto_chunks_group_keys_up_to_dasks_chunk_size(client, rng):
    import dask

    data = rng.random((10, 2, 64))  # 512 bytes per key: 6 keys make a 3 KiB chunk
    for r in range(2):
        for s in range(10):
            client.put_tensor(f"r{r}/s{s}", data[s, r], dims=("x",))
    with dask.config.set({"array.chunk-size": "3KiB"}):
        tiled = simdask.open_dataarray("r{rank:d}/s{step:d}", client, concat={"rank": "x"}, chunks="auto", name="u")
        stacked = simdask.open_dataarray("r{rank:d}/s{step:d}", client, chunks="auto", name="u")
    assert tiled.data.chunks == ((6, 4), (64, 64))
    np.testing.assert_array_equal(tiled.values, data.reshape(10, 128))
    assert stacked.dims == ("rank", "step", "x") and stacked.data.chunks == ((1, 1), (6, 4), (64,))
    np.testing.assert_array_equal(stacked.values, data.transpose(1, 0, 2))
    with pytest.raises(TypeError, match="or be 'auto'"):
        simdask.open_dataset("r{rank:d}/s{step:d}", client, chunks="big")


def test_keys_found_page_by_page_and_headers_read_in_batches(client, monkeypatch):
    from simdask.bridge import catalog

    monkeypatch.setattr(catalog, "SCAN_COUNT", 7)  # many SCAN pages, several header pipelines per shard
    monkeypatch.setattr(catalog, "HEADER_BATCH", 5)
    client.put_tensors({f"s.{i}": np.full(2, i) for i in range(40)})
    client.put_tensor("s.x", np.zeros(2))  # matches the glob, not the template
    client.put_tensor("s.40", np.zeros((3, 3)))  # does not fit: its header was read
    with pytest.raises(simdask.TensorMismatchError, match=r"'s\.40'"):
        simdask.open_dataarray("s.{step:d}", client)
    client.delete_tensor("s.40")
    da = simdask.open_dataarray("s.{step:d}", client)
    assert da.shape == (40, 2)
    np.testing.assert_array_equal(da.values[:, 0], np.arange(40))


def test_variables_laid_out_alike_read_their_own_keys(client, rng):
    # u and v sit alike (one layout worked out, shared); w is cut differently; v's attrs differ from u's
    full = {name: rng.random((3, 4, 6)) for name in "uvw"}
    cuts = {"u": [0, 2, 6], "v": [0, 2, 6], "w": [0, 5, 6]}
    for name, data in full.items():
        for s in range(3):
            for rank in range(2):
                a, b = cuts[name][rank], cuts[name][rank + 1]
                client.put_tensor(
                    f"rank{rank}/{name}_{s}",
                    np.ascontiguousarray(data[s, :, a:b]),
                    dims=("y", "x"),
                    attrs={"units": "K" if name == "v" else "m/s"},
                    coords={"time": s / 2},
                    block={"shape": (4, 6), "start": (0, a)},
                )
    ds = simdask.open_dataset("rank{rank:d}/{var}_{step:d}", client)
    assert ds.u.data.chunks == ds.v.data.chunks == ((3,), (4,), (2, 4))
    assert ds.w.data.chunks == ((3,), (4,), (5, 1))
    assert ds.v.attrs == {"units": "K"} and ds.u.attrs == {"units": "m/s"}
    assert ds.time.values.tolist() == [0, 0.5, 1]
    for name, data in full.items():
        np.testing.assert_array_equal(ds[name].values, data)
