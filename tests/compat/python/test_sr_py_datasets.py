"""Datasets through ``smartredis.Dataset``: copying add_tensor, metadata types, SmartRedis's keys and errors."""

from __future__ import annotations

import numpy as np
import pytest
from smartredis import Dataset
from smartredis.error import RedisKeyError, RedisReplyError, RedisRuntimeError
from sr_py_helpers import SCALAR_DTYPES, TENSOR_DTYPES

import simdask


def sample(name: str = "sample") -> Dataset:
    ds = Dataset(name)
    for dtype in TENSOR_DTYPES:
        ds.add_tensor(np.dtype(dtype).name, np.arange(6).reshape(2, 3).astype(dtype))
    for dtype in SCALAR_DTYPES:
        for value in (1, 2):
            ds.add_meta_scalar(np.dtype(dtype).name, dtype(value))
    ds.add_meta_string("units", "m/s")
    ds.add_meta_string("units", "K")
    return ds


def check_sample(ds: Dataset) -> None:
    assert sorted(ds.get_tensor_names()) == sorted(np.dtype(d).name for d in TENSOR_DTYPES)
    for dtype in TENSOR_DTYPES:
        name = np.dtype(dtype).name
        np.testing.assert_array_equal(ds.get_tensor(name), np.arange(6).reshape(2, 3).astype(dtype))
        assert ds.get_tensor_type(name) is dtype
        assert ds.get_tensor_dims(name) == [2, 3]
    for dtype in SCALAR_DTYPES:
        name = np.dtype(dtype).name
        scalars = ds.get_meta_scalars(name)
        assert scalars.dtype == dtype and scalars.tolist() == [1, 2]
        assert ds.get_metadata_field_type(name) is dtype
    assert ds.get_meta_strings("units") == ["m/s", "K"]
    assert ds.get_metadata_field_type("units") is str
    assert sorted(ds.get_metadata_field_names()) == sorted([*(np.dtype(d).name for d in SCALAR_DTYPES), "units"])


def test_dataset_in_memory():
    ds = sample()
    check_sample(ds)
    assert ds.get_name() == "sample"
    assert "units: ['m/s', 'K']" in str(ds) and "float32 [2, 3]" in str(ds)


def test_add_tensor_copies_the_buffer_of_a_time_loop():
    """The SmartSim idiom: one field buffer, refilled each step and added to that step's dataset."""
    field = np.zeros((3, 4))
    steps = []
    for step in range(3):
        field[:] = step
        ds = Dataset(f"step_{step}")
        ds.add_tensor("field", field)
        steps.append(ds)
    field[:] = -1.0
    assert [float(ds.get_tensor("field").mean()) for ds in steps] == [0.0, 1.0, 2.0]


def test_put_get_round_trip_and_key_layout(sr_client, peek):
    sr_client.put_dataset(sample())
    assert sr_client.dataset_exists("sample") and sr_client.poll_dataset("sample", 10, 2)
    check_sample(sr_client.get_dataset("sample"))
    assert "{sample}.meta" in peek.keys() and "{sample}.float64" in peek.keys()
    check_sample(Dataset.from_pybind(peek.get_dataset("sample")))


def test_retrieved_dataset_can_be_augmented_and_put_again(sr_client):
    sr_client.put_dataset(sample("aug"))
    back = sr_client.get_dataset("aug")
    back.add_tensor("extra", np.array([1.0, 2.0]))
    back.add_meta_scalar("time", 0.5)
    sr_client.put_dataset(back)
    again = sr_client.get_dataset("aug")
    np.testing.assert_array_equal(again.get_tensor("extra"), [1.0, 2.0])
    assert again.get_meta_scalars("time").tolist() == [0.5]
    assert again.get_meta_strings("units") == ["m/s", "K"]


def test_copy_rename_delete(sr_client):
    sr_client.put_dataset(sample("a"))
    sr_client.copy_dataset("a", "b")
    sr_client.rename_dataset("b", "c")
    assert not sr_client.dataset_exists("b")
    check_sample(sr_client.get_dataset("c"))
    sr_client.delete_dataset("a")
    assert not sr_client.dataset_exists("a") and not sr_client.poll_dataset("a", 10, 2)


def test_missing_dataset_errors(sr_client):
    with pytest.raises(RedisKeyError, match="Client.get_dataset execution failed"):
        sr_client.get_dataset("none")
    for call in (sr_client.delete_dataset, lambda n: sr_client.copy_dataset(n, "x")):
        with pytest.raises(RedisReplyError, match="none"):
            call("none")


def test_empty_dataset_is_refused_before_anything_is_sent(sr_client, peek):
    with pytest.raises(RedisRuntimeError, match="no tensors and no metadata"):
        sr_client.put_dataset(Dataset("empty"))
    assert peek.keys() == []


def test_dataset_argument_and_type_errors():
    with pytest.raises(TypeError):
        Dataset(42)
    ds = Dataset("d")
    with pytest.raises(TypeError, match="Argument data"):
        ds.add_tensor("t", [1, 2])
    with pytest.raises(TypeError, match="Incompatible tensor type"):
        ds.add_tensor("t", np.zeros(2, np.uint32))
    with pytest.raises(TypeError, match="not a scalar"):
        ds.add_meta_scalar("s", np.ones(3))
    with pytest.raises(TypeError, match="Incompatible metadata type"):
        ds.add_meta_scalar("s", np.int16(3))
    with pytest.raises(TypeError):
        ds.add_meta_string("s", 3)
    ds.add_meta_scalar("one", np.array([7]))  # a one-element array is a scalar, as in SmartRedis
    assert ds.get_meta_scalars("one").tolist() == [7]
    with pytest.raises(RedisKeyError):
        ds.get_tensor("nothing")
    with pytest.raises(RedisKeyError):
        ds.get_meta_strings("nothing")
    with pytest.raises(TypeError):
        Dataset.from_pybind(Dataset("x"))
    with pytest.raises(TypeError):
        ds.set_data(Dataset("x"))
    assert isinstance(ds.get_data(), simdask.Dataset)


def test_put_dataset_refuses_other_objects(sr_client):
    with pytest.raises(TypeError):
        sr_client.put_dataset(simdask.Dataset("not-smartredis"))
    with pytest.raises(TypeError):
        sr_client.get_dataset(7)
