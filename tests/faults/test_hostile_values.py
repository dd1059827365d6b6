"""Hostile stored values: every reader refuses each with a clear error naming the key, allocates and
reads nothing a value cannot justify, and never returns wrong data (the shared corpus of all clients
runs in ``test_corpus_python.py``; these are Python's own, dataset metadata included)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from fault_helpers import tensor_blob

import simdask
from simdask.protocol import tensors

F8 = np.arange(4.0)
NESTED = b"[" * 50_000 + b"]" * 50_000


def chunk_ref(n_chunks: int, chunk_bytes: int, reserved: int = 0, generation: bytes = b"G" * 16) -> bytes:
    return struct.pack("<IIQ16s", n_chunks, reserved, chunk_bytes, generation)


def fixed(code=11, order=b"C", ndim=1, flags=0, attrs_len=0, data_offset=64, magic=b"SDT\x01") -> bytes:
    return struct.pack("<4sBBBBII", magic, code, order[0], ndim, flags, attrs_len, data_offset)


def padded(head: bytes, data: bytes = b"") -> bytes:
    return head + bytes(-len(head) % 64) + data


#: name -> stored value; each must be refused with a TensorFormatError naming the key.
HOSTILE: dict[str, bytes] = {
    "empty": b"",
    "three bytes": b"SDT",
    "fifteen bytes": fixed()[:15],
    "bad magic": padded(fixed(magic=b"NOPE") + struct.pack("<Q", 4), F8.tobytes()),
    "version 2": padded(fixed(magic=b"SDT\x02") + struct.pack("<Q", 4), F8.tobytes()),
    "dtype 0": tensor_blob(F8, dtype_code=0),
    "dtype 15": tensor_blob(F8, dtype_code=15),
    "dtype 255": tensor_blob(F8, dtype_code=255),
    "order X": tensor_blob(F8, order=b"X"),
    "ndim 33": padded(fixed(ndim=33, data_offset=320) + bytes(8 * 33)),
    "ndim 255": fixed(ndim=255, data_offset=2048),
    "flag bit 1": tensor_blob(F8, flags=2),
    "flag bit 7": tensor_blob(F8, flags=0x80),
    "data_offset not aligned": fixed(data_offset=60) + struct.pack("<Q", 4) + bytes(36) + F8.tobytes(),
    "data_offset inside the shape": fixed(data_offset=0) + struct.pack("<Q", 4) + F8.tobytes(),
    "data_offset far beyond": padded(fixed(data_offset=2**32 - 64) + struct.pack("<Q", 4), F8.tobytes()),
    "attrs_len beyond the value": padded(fixed(attrs_len=2**32 - 1) + struct.pack("<Q", 4), F8.tobytes()),
    "attrs not UTF-8": tensor_blob(F8, attrs_json=b'{"attrs": {"u": "\xff"}}'),
    "attrs not JSON": tensor_blob(F8, attrs_json=b"{not json"),
    "attrs a list": tensor_blob(F8, attrs_json=b"[1, 2]"),
    "attrs nested 65 deep": tensor_blob(F8, attrs_json=b'{"attrs": ' + b"[" * 64 + b"]" * 64 + b"}"),
    "attrs nested 50000 deep": tensor_blob(F8, attrs_json=NESTED),
    "attrs huge integer": tensor_blob(F8, attrs_json=b'{"attrs": {"n": ' + b"9" * 5000 + b"}}"),
    "dims of the wrong count": tensor_blob(F8, attrs_json=b'{"dims": ["x", "y"]}'),
    "dims not strings": tensor_blob(F8, attrs_json=b'{"dims": [1]}'),
    "attrs.attrs not an object": tensor_blob(F8, attrs_json=b'{"attrs": [1]}'),
    "one byte short": tensor_blob(F8)[:-1],
    "one byte long": tensor_blob(F8) + b"\0",
    "shape overflowing": tensor_blob(np.zeros(0), shape=(2**40, 2**40)),
    "zero-size, huge dims": tensor_blob(np.zeros(0), shape=(0, 2**63)),
    "zero-size, dims numpy cannot hold": tensor_blob(np.zeros(0), shape=(0, 2**40, 2**40)),
    "2**62 elements in 8 bytes": tensor_blob(np.zeros(1), shape=(2**62,)),
    "bool holding 2": tensor_blob(np.array([0, 1, 2], np.uint8), dtype_code=14),
    "chunked, reserved word set": tensor_blob(F8, flags=1, tail=chunk_ref(1, 32, reserved=1)),
    "chunked, zero chunk bytes": tensor_blob(F8, flags=1, tail=chunk_ref(1, 0)),
    "chunked, chunks over 512 MiB": tensor_blob(np.zeros(0), shape=(2**30,), flags=1, tail=chunk_ref(1, 2**30)),
    "chunked, one chunk too many": tensor_blob(F8, flags=1, tail=chunk_ref(3, 16)),
    "chunked, one chunk too few": tensor_blob(F8, flags=1, tail=chunk_ref(1, 16)),
    "chunked, 2**22 absent chunks": tensor_blob(
        np.zeros(0, np.uint8), shape=(2**22,), flags=1, tail=chunk_ref(2**22, 1)
    ),
    "chunked, 2**20 absent chunks": tensor_blob(
        np.zeros(0, np.uint8), shape=(2**20,), flags=1, tail=chunk_ref(2**20, 1)
    ),
    "chunked, 3 GiB in absent chunks": tensor_blob(
        np.zeros(0), shape=(3 * 2**27,), flags=1, tail=chunk_ref(768, 4 * 2**20)
    ),
    "chunked, short reference": tensor_blob(F8, flags=1, tail=chunk_ref(1, 32)[:20]),
    "chunked, long reference": tensor_blob(F8, flags=1, tail=chunk_ref(1, 32) + b"\0"),
    "chunked, plain length": tensor_blob(F8, flags=1),
}


#: Cases that only the data or the chunks show: reads of headers pass them (the data reads refuse them).
NEED_DATA = {"bool holding 2", "chunked, 2**20 absent chunks", "chunked, 3 GiB in absent chunks"}
#: ... and those that only the value's length shows, which open_dataset's header reads do not ask for.
NEED_LENGTH = {
    "data_offset far beyond",
    "one byte short",
    "one byte long",
    *(case for case in HOSTILE if case.startswith("chunked")),
}


@pytest.fixture
def client(own_store):
    with simdask.Client(own_store.address) as client:
        yield client


def readers(client: simdask.Client, key: str):
    """Every way simdask reads a tensor: data, into an array, header (checked and lazy, as open_dataset)."""
    return {
        "get_tensor": lambda: client.get_tensor(key),
        "unpack_tensor": lambda: client.unpack_tensor(key, np.empty(4)),
        "tensor_info": lambda: client.tensor_info(key),
        "headers only": lambda: tensors.tensor_infos(client.session, [key], check_length=False),
    }


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_values_are_refused_naming_the_key(client, case):
    raw = client.redis()
    raw.set("hostile", HOSTILE[case])
    for reader, read in readers(client, "hostile").items():
        if (
            reader in ("tensor_info", "headers only")
            and case in NEED_DATA
            or reader == "headers only"
            and case in NEED_LENGTH
        ):
            read()  # checked when the data are read
            continue
        refusals = (
            (simdask.TensorFormatError, simdask.TensorMismatchError)
            if reader == "unpack_tensor"
            else simdask.TensorFormatError
        )  # unpack: a destination that does not fit is refused first
        with pytest.raises(refusals, match="'hostile'") as info:
            read()
        assert "Error" not in str(info.value).split("'hostile'")[0], info.value  # a message, not a traceback
    raw.close()


def test_the_chunk_key_of_a_key_without_a_valid_tag(client):
    raw = client.redis()
    raw.set("a{}b", tensor_blob(F8, flags=1, tail=chunk_ref(1, 32)))
    with pytest.raises(simdask.TensorFormatError, match=r"'a\{\}b'.*never chunked"):
        client.get_tensor("a{}b")
    raw.close()


def test_damaged_chunks(small_chunks_client):
    client = small_chunks_client
    client.put_tensor("big", np.arange(500.0))  # 16 chunks of 256 bytes
    raw = client.redis()
    chunks = sorted(k for k in client.keys("simdask:chunk:{big}:*"))
    raw.set(chunks[0], b"short")
    with pytest.raises(simdask.TensorFormatError, match="'big'.*wrong length"):
        client.get_tensor("big")
    raw.delete(chunks[0])
    raw.rpush(chunks[0], "a list")
    with pytest.raises(simdask.WrongTypeError, match="'big'"):
        client.get_tensor("big")
    raw.delete(chunks[0])
    with pytest.raises(simdask.TensorFormatError, match="'big'.*missing"):
        client.get_tensor("big")
    raw.close()


def test_keys_that_are_not_tensors(client):
    raw = client.redis()
    raw.rpush("a_list", "x")
    for read in readers(client, "a_list").values():
        with pytest.raises(simdask.WrongTypeError, match="'a_list'"):
            read()
    for read in readers(client, "absent").values():
        with pytest.raises(simdask.KeyNotFoundError, match="'absent'"):
            read()
    raw.close()


#: hash fields of a dataset's metadata -> what must be said about them
META: dict[str, tuple[dict[bytes, bytes], str]] = {
    "names not JSON": ({b".tensor_names": b"[x"}, ".tensor_names"),
    "names nested deep": ({b".tensor_names": NESTED}, ".tensor_names"),
    "names not a list": ({b".tensor_names": b'{"u": 1}'}, ".tensor_names"),
    "names not strings": ({b".tensor_names": b"[1]"}, ".tensor_names"),
    "names repeated": ({b".tensor_names": b'["u", "u"]'}, "distinct"),
    "name empty": ({b".tensor_names": b'[""]'}, "distinct"),
    "names not UTF-8": ({b".tensor_names": b'["\xff"]'}, ".tensor_names"),
    "no names": ({b"units": b'["m"]'}, "no .tensor_names"),
    "field name not UTF-8": ({b".tensor_names": b"[]", b"\xff": b'["m"]'}, "not UTF-8"),
    "strings not strings": ({b".tensor_names": b"[]", b"units": b"[1]"}, "'units'"),
    "strings not UTF-8": ({b".tensor_names": b"[]", b"units": b'["\xff"]'}, "'units'"),
    "scalar chunked": (
        {b".tensor_names": b"[]", b"time": tensor_blob(F8, flags=1, tail=chunk_ref(1, 32))},
        "never chunked",
    ),
    "scalar 2-D": ({b".tensor_names": b"[]", b"time": tensor_blob(np.zeros((2, 2)))}, "1-D numeric"),
    "scalar bool": ({b".tensor_names": b"[]", b"time": tensor_blob(np.zeros(2, bool))}, "1-D numeric"),
    "scalar truncated": ({b".tensor_names": b"[]", b"time": tensor_blob(F8)[:-3]}, "time"),
    "scalar bad dtype": ({b".tensor_names": b"[]", b"time": tensor_blob(F8, dtype_code=99)}, "time"),
}


@pytest.mark.parametrize("case", list(META))
def test_hostile_dataset_metadata(client, case):
    fields, said = META[case]
    raw = client.redis()
    raw.hset("{ds}.meta", mapping={**fields, b".COMPLETE": b"1"})
    with pytest.raises(simdask.TensorFormatError, match=r"\{ds\}\.meta") as info:
        client.get_dataset("ds")
    assert said in str(info.value)
    raw.close()


def test_a_million_chunks_with_only_the_ends_stored_stop_after_one_round(client):
    """The first and last of 2**20 one-byte chunks are there, the rest absent: reading stops at the first
    round that finds one missing, instead of asking for all of them."""
    raw = client.redis()
    generation = b"G" * 16
    raw.set("ends", tensor_blob(np.zeros(0, np.uint8), shape=(2**20,), flags=1, tail=chunk_ref(2**20, 1)))
    for index in (0, 2**20 - 1):
        raw.set(f"simdask:chunk:{{ends}}:{generation.hex()}:{index}", b"x")
    calls = raw.info("commandstats").get("cmdstat_get", {}).get("calls", 0)
    with pytest.raises(simdask.TensorFormatError, match="'ends'.*missing"):
        client.get_tensor("ends")
    gets = raw.info("commandstats")["cmdstat_get"]["calls"] - calls
    assert gets <= 2 * 1024 + 2  # a round of chunks, the head read twice
    raw.close()
