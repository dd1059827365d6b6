"""Tensors through ``smartredis.Client``: every SmartRedis type, any memory layout, SmartRedis's key and errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from smartredis.error import RedisKeyError, RedisReplyError
from sr_py_helpers import TENSOR_DTYPES


@pytest.mark.parametrize("dtype", TENSOR_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_smartredis_type_round_trips(sr_client, dtype):
    data = np.arange(-12, 12).reshape(2, 3, 4).astype(dtype)
    sr_client.put_tensor("u", data)
    back = sr_client.get_tensor("u")
    assert back.dtype == data.dtype and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, data)


def test_views_transposes_and_fortran_order_round_trip(sr_client):
    base = np.arange(100.0).reshape(10, 10)
    for view in (base[1:3, 5:7], base[:, 0], base[::-1, ...], base.T, np.asfortranarray(base), base.reshape(4, 25)):
        sr_client.put_tensor("v", view)
        np.testing.assert_array_equal(sr_client.get_tensor("v"), view)


def test_key_is_the_name_and_simdask_reads_it(sr_client, peek):
    sr_client.put_tensor("field", np.ones((2, 2), np.float32))
    assert sr_client.key_exists("field") and sr_client.tensor_exists("field")
    np.testing.assert_array_equal(peek.get_tensor("field"), np.ones((2, 2), np.float32))
    peek.put_tensor("from_simdask", np.arange(3))
    np.testing.assert_array_equal(sr_client.get_tensor("from_simdask"), np.arange(3))


def test_copy_rename_delete(sr_client):
    sr_client.put_tensor("a", np.arange(4))
    sr_client.copy_tensor("a", "b")
    sr_client.rename_tensor("b", "c")
    assert not sr_client.tensor_exists("b")
    np.testing.assert_array_equal(sr_client.get_tensor("c"), np.arange(4))
    sr_client.delete_tensor("a")
    assert not sr_client.key_exists("a")
    assert sr_client.poll_tensor("c", 10, 2) and not sr_client.poll_tensor("a", 10, 2)


def test_missing_tensor_is_a_key_error_naming_it(sr_client):
    with pytest.raises(RedisKeyError, match=r"Client.get_tensor execution failed\n.*'nowhere'"):
        sr_client.get_tensor("nowhere")
    for call in (lambda: sr_client.copy_tensor("nowhere", "x"), lambda: sr_client.rename_tensor("nowhere", "x")):
        with pytest.raises(RedisReplyError, match="nowhere"):
            call()


@pytest.mark.parametrize("dtype", [np.bool_, np.complex64, np.float16, np.uint32, np.uint64, np.int64])
def test_types_smartredis_does_not_store_are_type_errors(sr_client, peek, dtype):
    if dtype is np.int64:  # the control: stored
        sr_client.put_tensor("t", np.zeros(3, dtype))
        return
    with pytest.raises(TypeError, match="Incompatible tensor type"):
        sr_client.put_tensor("t", np.zeros(3, dtype))
    assert peek.keys() == []


def test_argument_types_are_checked(sr_client):
    with pytest.raises(TypeError, match="Argument name"):
        sr_client.put_tensor(42, np.ones(2))
    with pytest.raises(TypeError, match="Argument data"):
        sr_client.put_tensor("x", [1, 2, 3])
    for call in (sr_client.get_tensor, sr_client.delete_tensor, sr_client.tensor_exists, sr_client.key_exists):
        with pytest.raises(TypeError):
            call(42)
    with pytest.raises(TypeError):
        sr_client.poll_tensor("x", "often", 3)


def test_bytes_round_trip_as_a_uint8_tensor(sr_client):
    blob = np.random.default_rng(0).random(40).tobytes()
    sr_client.put_bytes("raw", io.BytesIO(blob))
    assert sr_client.get_bytes("raw").getvalue() == blob
    assert sr_client.get_tensor("raw").dtype == np.uint8
    with pytest.raises(TypeError):
        sr_client.put_bytes("raw", blob)
