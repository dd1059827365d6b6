"""The hostile-value corpus every client shares (``tests/corpus/tensor_corpus.py``), run against each
Python reader, and a fuzz of random mutations of valid values: only TensorFormatError (or
KeyNotFoundError, WrongTypeError where that is the truth) ever escapes, always naming the key, and the
client works afterwards."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import tensor_blob
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simdask
from simdask import wire
from simdask.protocol import tensors

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "corpus"))
import tensor_corpus  # noqa: E402

#: Largest buffer the unpack reader allocates for a case's claimed dtype and shape.
_UNPACK_LIMIT = 2**20


@pytest.fixture(scope="module")
def corpus_store():
    with simdask.Store() as store:
        yield store


def unpack_target(case: tensor_corpus.Case) -> np.ndarray:
    """A buffer of the dtype and shape the case claims (so unpack reaches the data checks), else a small one."""
    if case.dtype in wire.DTYPES and case.shape is not None:
        dtype = wire.DTYPES[case.dtype]
        if int(np.prod(case.shape, dtype=object)) * dtype.itemsize <= _UNPACK_LIMIT:
            return np.empty(case.shape, dtype=dtype)
    return np.empty(4)


def escape_message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("name", [name for name, _ in tensor_corpus.cases()])
def test_corpus_case(corpus_store, name):
    case = tensor_corpus.CASES[name]
    client = simdask.Client(corpus_store.address)
    raw = client.redis()
    raw.flushall()
    for key, value in case.chunk_keys().items():
        raw.set(key, value)
    raw.set(case.key, case.value)
    quoted = repr(case.key)
    # readers of the data: must refuse, naming the key
    for reader, read in {
        "get_tensor": lambda: client.get_tensor(case.key),
        "unpack_tensor": lambda: client.unpack_tensor(case.key, unpack_target(case)),
    }.items():
        refusals: tuple[type[Exception], ...] = (simdask.TensorFormatError,)
        if reader == "unpack_tensor" and unpack_target(case).size == 4 and case.shape not in (None, (4,)):
            refusals += (simdask.TensorMismatchError,)  # the claimed shape is too big to allocate here
        with pytest.raises(refusals) as info:
            read()
        assert quoted in str(info.value), (reader, escape_message(info.value))
    # readers of headers: the header's own faults are refused; the data's are for the data readers
    for reader, read in {
        "tensor_info": lambda: client.tensor_info(case.key),
        "headers (open_dataset)": lambda: tensors.tensor_infos(client.session, [case.key], check_length=False),
    }.items():
        try:
            read()
        except simdask.TensorFormatError as exc:
            assert quoted in str(exc), (reader, escape_message(exc))
    # the client still works
    client.put_tensor("after", np.arange(3.0))
    np.testing.assert_array_equal(client.get_tensor("after"), np.arange(3.0))
    raw.close()
    client.close()


# -- fuzz: random mutations of valid values ------------------------------------------------------------


def chunk_ref(n_chunks: int, chunk_bytes: int, generation: bytes = bytes(16)) -> bytes:
    return struct.pack("<IIQ16s", n_chunks, 0, chunk_bytes, generation)


VALID = [
    tensor_blob(np.arange(12.0).reshape(3, 4), attrs_json=b'{"dims": ["y", "x"], "attrs": {"units": "m"}}'),
    tensor_blob(np.array([True, False, True])),
    tensor_blob(np.arange(6, dtype=np.int16).reshape(2, 3), order=b"F"),
    tensor_blob(np.array(7, np.int8)),
    tensor_blob(np.zeros(0, np.uint8), shape=(256,), flags=1, tail=chunk_ref(4, 64)),
]


@st.composite
def mutated(draw):
    value = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "truncate", "extend", "word"]))
        if kind == "truncate" and value:
            del value[draw(st.integers(0, len(value) - 1)) :]
        elif kind == "extend":
            value += draw(st.binary(min_size=1, max_size=80))
        elif kind == "word" and len(value) >= 16:  # a header field set to any value
            offset = draw(st.sampled_from([4, 5, 6, 7, 8, 12, 16, 24]))
            size = 1 if offset < 8 else 4 if offset < 16 else 8
            if offset + size <= len(value):
                value[offset : offset + size] = draw(st.integers(0, 2 ** (8 * size) - 1)).to_bytes(size, "little")
        elif value:
            position = draw(st.integers(0, len(value) - 1))
            value[position] = draw(st.integers(0, 255)) if kind == "set" else value[position] ^ 0xFF
    return bytes(value)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=mutated())
def test_mutated_values_give_only_format_errors(corpus_store, value):
    client = simdask.Client(corpus_store.address)
    raw = client.redis()
    raw.set("fuzzed", value)
    for i in range(2):  # some of the chunks of the chunked value
        raw.set(wire.chunk_key("simdask:chunk:{fuzzed}:", bytes(16), i), bytes(64))
    readers = {
        "get_tensor": lambda: client.get_tensor("fuzzed"),
        "unpack_tensor": lambda: client.unpack_tensor("fuzzed", np.empty((3, 4))),
        "tensor_info": lambda: client.tensor_info("fuzzed"),
        "headers (open_dataset)": lambda: tensors.tensor_infos(client.session, ["fuzzed"], check_length=False),
    }
    for reader, read in readers.items():
        allowed: tuple[type[Exception], ...] = (simdask.TensorFormatError, simdask.KeyNotFoundError)
        if reader == "unpack_tensor":
            allowed += (simdask.TensorMismatchError,)
        try:
            read()
        except allowed as exc:
            assert "'fuzzed'" in str(exc), (reader, escape_message(exc))
    raw.close()
    client.close()
