"""Datasets: tensors plus metadata, stored together and atomically (DESIGN.md layout)."""

from __future__ import annotations

import numpy as np
import pytest

import simdask
from simdask import Dataset


def make_dataset(name: str = "sample") -> Dataset:
    ds = Dataset(name)
    ds.add_tensor("u", np.arange(12.0).reshape(3, 4), dims=("y", "x"), attrs={"units": "m/s"})
    ds.add_tensor("mask", np.asfortranarray(np.eye(3, dtype=bool)))
    ds.add_tensor("big", np.arange(2000, dtype=np.int32))
    ds.add_meta_scalar("time", 0.5)
    ds.add_meta_scalar("time", 1.5)
    ds.add_meta_scalar("step", np.int32(7))
    ds.add_meta_string("solver", "diffusion")
    ds.add_meta_string("solver", "rk4")
    return ds


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.get_tensor_names() == b.get_tensor_names()
    for name in a.get_tensor_names():
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name))
        assert a.get_tensor(name).dtype == b.get_tensor(name).dtype
        assert a.get_tensor_dim_names(name) == b.get_tensor_dim_names(name)
        assert a.get_tensor_attrs(name) == b.get_tensor_attrs(name)
    assert sorted(a.get_metadata_field_names()) == sorted(b.get_metadata_field_names())
    np.testing.assert_array_equal(a.get_meta_scalars("time"), b.get_meta_scalars("time"))
    assert b.get_meta_scalars("step").dtype == np.int32
    assert a.get_meta_strings("solver") == b.get_meta_strings("solver")


def test_round_trip_with_metadata(small_chunks_client):
    client = small_chunks_client
    original = make_dataset()
    client.put_dataset(original)
    assert client.dataset_exists("sample")
    back = client.get_dataset("sample")
    assert back.name == "sample"
    assert_same(original, back)
    assert back.get_tensor("mask").flags.f_contiguous
    assert back.get_metadata_field_type("solver") is str
    assert back.get_metadata_field_type("time") == np.float64


def test_dataset_keys_follow_the_design_layout(small_chunks_client):
    small_chunks_client.put_dataset(make_dataset())
    keys = set(small_chunks_client.keys())
    own = {"{sample}.meta", "{sample}.u", "{sample}.mask", "{sample}.big"}
    assert own <= keys
    assert all(k.startswith("simdask:chunk:{sample}:") for k in keys - own)


def test_overwrite_removes_tensors_the_new_dataset_lacks(small_chunks_client):
    client = small_chunks_client
    client.put_dataset(make_dataset())
    smaller = Dataset("sample")
    smaller.add_tensor("u", np.ones(2))
    client.put_dataset(smaller)
    assert sorted(client.keys()) == ["{sample}.meta", "{sample}.u"]
    assert client.get_dataset("sample").get_metadata_field_names() == []


def test_copy_rename_delete(small_chunks_client):
    client = small_chunks_client
    client.put_dataset(make_dataset())
    client.copy_dataset("sample", "copy")
    assert_same(make_dataset(), client.get_dataset("copy"))
    client.rename_dataset("copy", "moved")
    assert not client.dataset_exists("copy") and client.dataset_exists("moved")
    client.delete_dataset("moved")
    client.delete_dataset("sample")
    assert client.keys() == []
    with pytest.raises(simdask.KeyNotFoundError, match="dataset 'sample'"):
        client.delete_dataset("sample")


def test_missing_and_incomplete_datasets(client, raw):
    with pytest.raises(KeyError, match="dataset 'nope'"):
        client.get_dataset("nope")
    raw.hset("{half}.meta", ".tensor_names", "[]")  # no .COMPLETE: a writer that died midway
    assert not client.dataset_exists("half")
    with pytest.raises(KeyError, match="dataset 'half'"):
        client.get_dataset("half")


def test_poll_dataset(client):
    assert not client.poll_dataset("late", 1, 3)
    client.put_dataset(make_dataset("late"))
    assert client.poll_dataset("late", 1, 3)


def test_dataset_api_errors(client):
    ds = Dataset("d")
    with pytest.raises(ValueError, match="no tensors and no metadata"):
        client.put_dataset(ds)
    with pytest.raises(TypeError, match="simdask.Dataset"):
        client.put_dataset({"u": np.ones(1)})
    with pytest.raises(ValueError, match="braces"):
        client.get_dataset("a{b}")
    with pytest.raises(ValueError, match="cannot be called 'meta'"):
        ds.add_tensor("meta", np.ones(1))
    with pytest.raises(ValueError, match="reserved"):
        ds.add_meta_scalar(".COMPLETE", 1)
    ds.add_meta_scalar("time", 1.0)
    with pytest.raises(TypeError, match="holds float64; cannot append a int64"):
        ds.add_meta_scalar("time", 2)
    with pytest.raises(TypeError, match="already holds scalars"):
        ds.add_meta_string("time", "x")
    with pytest.raises(TypeError, match="single number"):
        ds.add_meta_scalar("vec", np.ones(2))
    with pytest.raises(TypeError, match="must be a str"):
        ds.add_meta_string("s", 3)
    with pytest.raises(KeyError, match="no tensor 'u'"):
        ds.get_tensor("u")
    with pytest.raises(KeyError, match="no metadata scalar field 'x'"):
        ds.get_meta_scalars("x")
    with pytest.raises(TypeError, match="cannot be stored"):
        ds.add_tensor("s", np.array(["a"]))
    assert "time" in repr(ds)


def test_add_tensor_copies_so_a_reused_buffer_keeps_each_step(client):
    """A time loop fills one buffer and adds it to each step's dataset: every step keeps its own values."""
    field = np.zeros((4, 3), order="F")
    steps = []
    for step in range(3):
        field[...] = step
        ds = Dataset(f"step_{step}")
        ds.add_tensor("field", field)
        steps.append(ds)
    for step, ds in enumerate(steps):
        assert (ds.get_tensor("field") == step).all()
        assert ds.get_tensor("field").flags.f_contiguous
        client.put_dataset(ds)
    field[...] = -1
    for step in range(3):
        assert (client.get_dataset(f"step_{step}").get_tensor("field") == step).all()


def test_add_tensor_without_copy_keeps_a_reference(client):
    buffer = np.zeros(5)
    ds = Dataset("ref")
    ds.add_tensor("u", buffer, copy=False)
    buffer[:] = 7.0  # changed before the put: the put sends the new values
    assert ds.get_tensor("u") is buffer
    client.put_dataset(ds)
    np.testing.assert_array_equal(client.get_dataset("ref").get_tensor("u"), np.full(5, 7.0))
