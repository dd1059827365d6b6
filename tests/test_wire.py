"""The version-1 tensor blob, byte by byte (DESIGN.md)."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from simdask import wire
from simdask.errors import TensorFormatError, UnsupportedDtypeError

ALL_DTYPES = list(wire.DTYPES.values())


def value_of(array: np.ndarray, order: str = "C", **kw) -> bytes:
    header = wire.encode_header(array.dtype, array.shape, order, **kw)
    return header + array.tobytes(order=order)


def test_header_layout_matches_design():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    value = value_of(a)
    assert value[:4] == b"SDT\x01"
    assert value[4] == 10 and value[5] == ord("C") and value[6] == 2 and value[7] == 0
    attrs_len, data_offset = struct.unpack_from("<II", value, 8)
    assert attrs_len == 0 and data_offset == 64
    assert struct.unpack_from("<2Q", value, 16) == (2, 3)
    assert value[32:64] == bytes(32)
    assert np.frombuffer(value, np.float32, offset=64).tolist() == list(range(6))


def test_dtype_codes_are_the_design_table():
    names = [
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
        "bool",
    ]
    assert {code: str(dt) for code, dt in wire.DTYPES.items()} == dict(enumerate(names, start=1))
    for code, dt in wire.DTYPES.items():
        assert wire.dtype_code(dt) == code
        assert wire.dtype_code(dt.newbyteorder(">")) == code


@pytest.mark.parametrize("dtype", [object, "U3", "S4", [("a", "i4")], "datetime64[s]", "V8"])
def test_unsupported_dtypes_name_the_dtype(dtype):
    with pytest.raises(UnsupportedDtypeError, match="cannot be stored"):
        wire.dtype_code(np.dtype(dtype))


def test_attrs_json_and_alignment():
    a = np.zeros((2, 2))
    header = wire.encode_header(a.dtype, a.shape, "C", dims=("y", "x"), attrs={"units": "K", "n": np.int64(3)})
    assert len(header) % 64 == 0
    info = wire.decode_header(header + a.tobytes(), "k")
    assert info.dims == ("y", "x") and info.attrs == {"units": "K", "n": 3}
    assert info.data_offset == len(header)


def test_dims_must_match_ndim():
    with pytest.raises(ValueError, match="dimension names"):
        wire.encode_header(np.dtype("f8"), (2, 3), "C", dims=("x",))


def test_attrs_must_be_json():
    with pytest.raises(TypeError, match="JSON"):
        wire.encode_header(np.dtype("f8"), (2,), "C", attrs={"f": object()})


@given(
    hnp.arrays(
        dtype=st.sampled_from(ALL_DTYPES),
        shape=hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4),
    ),
    st.sampled_from("CF"),
)
def test_encode_decode_round_trip(array, order):
    value = value_of(array, order)
    info = wire.decode_header(value, "k")
    wire.check_value_length(info, len(value), "k")
    back = wire.array_from_buffer(info, value, info.data_offset)
    assert back.shape == array.shape and back.dtype == array.dtype
    np.testing.assert_array_equal(back, array)


def test_chunk_ref_round_trip():
    info = wire.TensorInfo(np.dtype("f8"), (100,), "C", None, data_offset=64, chunked=True)
    ref = wire.ChunkRef(n_chunks=4, chunk_bytes=256, generation=bytes(range(16)))
    value = wire.encode_header(info.dtype, info.shape, "C", chunked=True) + wire.encode_chunk_ref(ref)
    assert len(value) == 64 + 32
    decoded = wire.decode_header(value, "k")
    assert decoded.chunked and wire.decode_chunk_ref(value, decoded, "k") == ref
    assert ref.chunk_length(3, info.nbytes) == 800 - 3 * 256


@pytest.mark.parametrize("n_chunks, chunk_bytes", [(3, 256), (5, 256), (4, 0), (0, 256)])
def test_inconsistent_chunk_ref_is_refused(n_chunks, chunk_bytes):
    header = wire.encode_header(np.dtype("f8"), (100,), "C", chunked=True)
    value = header + struct.pack("<IIQ16s", n_chunks, 0, chunk_bytes, bytes(16))
    with pytest.raises(TensorFormatError, match="'big' has an inconsistent chunk reference"):
        wire.decode_chunk_ref(value, wire.decode_header(value, "big"), "big")


def _corrupt(value: bytes, offset: int, new: bytes) -> bytes:
    return value[:offset] + new + value[offset + len(new) :]


GOOD = value_of(np.arange(4, dtype=np.int32))


@pytest.mark.parametrize(
    "value, message",
    [
        (b"", "shorter than"),
        (b"SDT", "shorter than"),
        (_corrupt(GOOD, 0, b"XYZ"), "bad magic"),
        (_corrupt(GOOD, 3, b"\x02"), "version 2"),
        (_corrupt(GOOD, 4, b"\x00"), "unknown dtype code 0"),
        (_corrupt(GOOD, 4, b"\x0f"), "unknown dtype code 15"),
        (_corrupt(GOOD, 5, b"X"), "invalid order byte"),
        (_corrupt(GOOD, 6, b"\x21"), "33 dimensions"),
        (_corrupt(GOOD, 7, b"\x02"), "unknown flag bits"),
        (_corrupt(GOOD, 12, struct.pack("<I", 65)), "invalid data_offset"),
        (_corrupt(GOOD, 12, struct.pack("<I", 0)), "invalid data_offset"),
        (_corrupt(GOOD, 8, struct.pack("<I", 4)), "invalid attrs JSON"),
    ],
)
def test_corrupt_headers_are_refused_naming_the_key(value, message):
    with pytest.raises(TensorFormatError, match=message) as info:
        wire.decode_header(value, "field.step7")
    assert "field.step7" in str(info.value)


@pytest.mark.parametrize("cut", [1, 8, 15])
def test_short_and_long_values_are_refused(cut):
    info = wire.decode_header(GOOD, "k")
    with pytest.raises(TensorFormatError, match="truncated or corrupt"):
        wire.check_value_length(info, len(GOOD) - cut, "k")
    with pytest.raises(TensorFormatError, match="truncated or corrupt"):
        wire.check_value_length(info, len(GOOD) + cut, "k")


def test_attrs_with_wrong_dims_are_refused():
    header = wire.encode_header(np.dtype("f8"), (2,), "C", dims=("x",))
    broken = header.replace(b'["x"]', b"[1.0]")
    with pytest.raises(TensorFormatError, match="invalid dims"):
        wire.decode_header(broken, "k")


@pytest.mark.parametrize(
    "key, tag",
    [
        ("u", "u"),
        ("{ds}.meta", "ds"),
        ("p.{ds}.t", "ds"),
        ("a{b}c{d}", "b"),
        ("{}x", None),
        ("a}b", None),
        ("a{b", None),
        ("x{a{b}y", "a{b"),
    ],
)
def test_hash_tag_and_chunk_prefix(key, tag):
    assert wire.hash_tag(key) == tag
    assert wire.chunk_prefix(key) == (None if tag is None else f"simdask:chunk:{{{tag}}}:")


def test_a_description_round_trips():
    header = wire.encode_header(
        np.dtype("f4"),
        (3, 2),
        "F",
        dims=("x", "z"),
        attrs={"units": "K"},
        coords={"time": np.float64(12.5), "member": "ctl", "x": np.array([0.0, 0.5, 1.0])},
        block={"shape": (10, 2), "start": np.array([4, 0])},
    )
    info = wire.decode_header(header, "k")
    assert info.coords == {"time": 12.5, "member": "ctl", "x": [0.0, 0.5, 1.0]}
    assert info.block == wire.Placement(shape=(10, 2), start=(4, 0))
    assert wire.decode_header(wire.encode_header(np.dtype("f4"), (3,), "C"), "k").block is None


@pytest.mark.parametrize(
    "description, message",
    [
        ({"coords": {"x": [1, 2]}}, "no dimension 'x'"),
        ({"dims": ("y", "x"), "coords": {"x": [1, 2, 3]}}, "'x' has 3 values; dimension 'x' has 2"),
        ({"dims": ("y", "x"), "coords": {"y": 1.0}}, "'y' is a scalar but 'y' is a dimension"),
        ({"coords": {"t": True}}, "a number, a string or a 1-D sequence"),
        ({"coords": {"t": np.zeros((2, 2))}}, "a number, a string or a 1-D sequence"),
        ({"coords": {1: 0.5}}, "coordinate names are strings"),
        ({"coords": {f"c{i}": i for i in range(257)}}, "257 coordinates"),
        ({"block": {"shape": (4, 2), "start": (3, 0)}}, r"shape \(2, 2\) at \(3, 0\) does not fit in .* \(4, 2\)"),
        ({"block": {"shape": (4,), "start": (0,)}}, "one integer in"),
        ({"block": {"shape": (4, 2), "start": (-1, 0)}}, "one integer in"),
        ({"block": {"shape": (4, 2), "start": (0.5, 0)}}, "sequences of integers"),
        ({"block": (4, 2)}, "block must be"),
    ],
)
def test_a_description_that_does_not_fit_is_refused_on_write(description, message):
    with pytest.raises(ValueError, match=message):
        wire.encode_header(np.dtype("f8"), (2, 2), "C", **description)
