"""Bad input and bad stores give clear errors naming the key or the address, and lose nothing."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest

import simdask
from simdask import wire


def blob(array: np.ndarray) -> bytes:
    return wire.encode_header(array.dtype, array.shape, "C") + array.tobytes()


GOOD = blob(np.arange(10, dtype=np.float64))


@pytest.mark.parametrize(
    "value, error, message",
    [
        (b"hello world", simdask.TensorFormatError, "not a simdask tensor"),
        (b"", simdask.TensorFormatError, "shorter than"),
        (GOOD[:-8], simdask.TensorFormatError, "truncated or corrupt"),
        (GOOD + b"\0" * 8, simdask.TensorFormatError, "truncated or corrupt"),
        (GOOD[:40], simdask.TensorFormatError, "truncated or corrupt"),
        (GOOD[:3] + b"\x07" + GOOD[4:], simdask.TensorFormatError, "version 7"),
        (GOOD[:4] + b"\x63" + GOOD[5:], simdask.TensorFormatError, "unknown dtype code 99"),
        (GOOD[:6] + b"\xff" + GOOD[7:], simdask.TensorFormatError, "255 dimensions"),
        (GOOD[:16] + struct.pack("<Q", 2**40) + GOOD[24:], simdask.TensorFormatError, "truncated or corrupt"),
    ],
)
def test_corrupt_values_written_raw_are_refused_naming_the_key(client, raw, value, error, message):
    raw.set("sim.u", value)
    for read in (lambda: client.get_tensor("sim.u"), lambda: client.unpack_tensor("sim.u", np.empty(10))):
        with pytest.raises(error, match=message) as info:
            read()
        assert "sim.u" in str(info.value)
    client.put_tensor("ok", np.ones(3))  # the connection is still in sync
    np.testing.assert_array_equal(client.get_tensor("ok"), np.ones(3))


def test_corrupt_chunked_head_is_refused(client, raw):
    head = wire.encode_header(np.dtype("f8"), (1000,), "C", chunked=True)
    raw.set("c", head + struct.pack("<IIQ16s", 1, 0, 16, bytes(16)))
    with pytest.raises(simdask.TensorFormatError, match="'c' has an inconsistent chunk reference"):
        client.get_tensor("c")


def test_corrupt_dataset_metadata_is_refused(client, raw):
    raw.hset("{d}.meta", mapping={".tensor_names": b"[]", "units": b"not json", ".COMPLETE": b"1"})
    with pytest.raises(simdask.TensorFormatError, match="'units' is not a JSON list"):
        client.get_dataset("d")


def test_wrong_type_key(client, raw):
    raw.hset("h", "a", "1")
    with pytest.raises(simdask.WrongTypeError, match="'h'.*holds a hash, not a tensor") as info:
        client.get_tensor("h")
    assert isinstance(info.value, TypeError)
    raw.rpush("lst", "x")
    with pytest.raises(simdask.WrongTypeError, match="'lst'"):
        client.tensor_info("lst")


def test_missing_keys_are_key_errors_naming_the_key(client):
    for action in (
        lambda: client.get_tensor("nope"),
        lambda: client.unpack_tensor("nope", np.empty(1)),
        lambda: client.tensor_info("nope"),
        lambda: client.get_tensors(["x", "nope"]) if client.put_tensor("x", np.ones(1)) is None else None,
    ):
        with pytest.raises(KeyError, match="'nope' does not exist") as info:
            action()
        assert isinstance(info.value, simdask.SimdaskError)


@pytest.mark.parametrize(
    "data",
    [
        np.array(["a"]),
        np.array([object()]),
        np.zeros(2, dtype=[("a", "i4")]),
        np.array(["2020-01-01"], dtype="datetime64[D]"),
    ],
)
def test_unsupported_dtypes_raise_type_error_naming_the_dtype(client, data):
    with pytest.raises(TypeError, match=re.escape(f"tensor 'bad': dtype {data.dtype}")):
        client.put_tensor("bad", data)
    assert not client.tensor_exists("bad")


def test_unpack_into_a_wrong_array(client):
    client.put_tensor("u", np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(simdask.TensorMismatchError, match="'u' is stored as float32; the destination array is float64"):
        client.unpack_tensor("u", np.empty((3, 4)))
    shape_message = r"'u' has shape \(3, 4\); the destination array has \(4, 3\)"
    with pytest.raises(simdask.TensorMismatchError, match=shape_message):
        client.unpack_tensor("u", np.empty((4, 3), np.float32))
    readonly = np.empty((3, 4), np.float32)
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        client.unpack_tensor("u", readonly)
    with pytest.raises(TypeError, match="numpy array"):
        client.unpack_tensor("u", [0.0] * 12)


def test_bad_names_and_options(client):
    with pytest.raises(ValueError, match="non-empty string"):
        client.put_tensor("", np.ones(1))
    with pytest.raises(ValueError, match="dimension names"):
        client.put_tensor("u", np.ones((2, 2)), dims=("x",))
    with pytest.raises(ValueError, match="33"):
        client.put_tensor("u", np.ones((1,) * 33))
    with pytest.raises(ValueError, match="num_tries"):
        client.poll_tensor("u", 10, 0)


def test_store_that_is_down_names_the_address():
    with simdask.Store() as store:
        address = store.address
    with pytest.raises(simdask.StoreConnectionError, match=f"cannot connect to the store at {address}") as info:
        simdask.Client(address)
    assert isinstance(info.value, ConnectionError)


def test_no_address_at_all(monkeypatch):
    monkeypatch.delenv("SIMDASK_ADDRESS", raising=False)
    with pytest.raises(ValueError, match="SIMDASK_ADDRESS is not set"):
        simdask.Client()


def test_address_from_environment(standalone_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_ADDRESS", standalone_store.address)
    assert simdask.Client().address == standalone_store.address


def test_store_killed_mid_session():
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        client.put_tensor("u", np.ones(4))
        store.servers[0].kill()
        assert not store.is_running()
        for action in (lambda: client.get_tensor("u"), lambda: client.put_tensor("v", np.ones(4))):
            with pytest.raises(simdask.StoreConnectionError, match=store.address.replace(".", r"\.")):
                action()


def test_cluster_node_killed_mid_session():
    with simdask.Store("cluster") as store:
        client = simdask.Client(store.address)
        client.put_tensors({f"k{i}": np.ones(2) for i in range(20)})
        store.servers[1].kill()
        with pytest.raises(simdask.StoreConnectionError, match=str(store.servers[1].address)):
            client.get_tensors([f"k{i}" for i in range(20)])


def test_full_store_refuses_writes_and_keeps_data():
    with simdask.Store(maxmemory="4mb") as store:
        client = simdask.Client(store.address)
        kept = np.arange(1000.0)
        client.put_tensor("kept", kept)
        with pytest.raises(simdask.StoreFullError, match="'big'.*maxmemory") as info:
            for i in range(20):
                client.put_tensor("big", np.ones(2**20 // 8 * (i + 1)))
        assert isinstance(info.value, MemoryError)
        with pytest.raises(simdask.StoreFullError):
            client.put_tensor("huge", np.ones(2**21))  # chunked: no chunk is left behind
        assert client.keys("simdask:chunk:*") == []
        np.testing.assert_array_equal(client.get_tensor("kept"), kept)


def test_password_is_required_and_used(monkeypatch):
    with simdask.Store(password="s3cret-pw") as store:
        assert store.env["SIMDASK_PASSWORD"] == "s3cret-pw"
        monkeypatch.delenv("SIMDASK_PASSWORD", raising=False)
        with pytest.raises(simdask.AuthenticationError, match=store.address):
            simdask.Client(store.address, password="")  # none (the credentials file would give it)
        with pytest.raises(simdask.AuthenticationError):
            simdask.Client(store.address, password="wrong")
        monkeypatch.setenv("SIMDASK_PASSWORD", "s3cret-pw")
        client = simdask.Client(store.address)
        client.put_tensor("u", np.ones(2))
        assert store.is_running()
