"""The C client against the shared corpus of hostile tensor values (``tests/corpus/tensor_corpus.py``).

Every value is set raw into a real store; ``sd_get_tensor``, ``sd_unpack_tensor`` and ``sd_tensor_exists``
then ``sd_get_tensor`` must each return SD_ERR_FORMAT with the key in the message, without a crash, and the
client must still work afterwards (``c_faults.c``'s ``reads`` case). Valid values on the edges of the limits
(attrs nested exactly 64 deep, NaN in attrs, chunked heads of small chunks) still read.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
from simdask_tests_native import ROOT, SANITIZE, VALGRIND, native_env, wrap

from simdask import Client, wire

sys.path.insert(0, str(ROOT / "tests" / "corpus"))
import tensor_corpus  # noqa: E402


def _line(key: str, status: str, dtype: int | None, shape: tuple[int, ...] | None) -> str:
    return f"{key}\t{status}\t{dtype or 0}\t{','.join(map(str, shape or ()))}"


def _read_all(native, address: str, lines: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        wrap([native.c_faults, "reads"]),
        input="".join(f"{line}\n" for line in lines),
        env=native_env(address),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert f"{len(lines)} values read" in proc.stdout
    return proc


def test_the_corpus_is_large_and_well_formed():
    names = [name for name, _ in tensor_corpus.cases()]
    assert len(names) >= 60 and len(set(names)) == len(names)
    for name in names:
        case = tensor_corpus.CASES[name]
        assert case.why and "\n" not in case.why, name
        assert (case.dtype is None) == (case.shape is None), name


def test_every_hostile_value_is_refused_naming_its_key(native_c, store_client, c_store):
    r = store_client.redis()
    lines = []
    for name, value in tensor_corpus.cases():
        case = tensor_corpus.CASES[name]
        for key, chunk in case.chunk_keys().items():
            r.set(key, chunk)
        r.set(case.key, value)
        lines.append(_line(case.key, "SD_ERR_FORMAT", case.dtype, case.shape))
    started = time.monotonic()
    proc = _read_all(native_c, c_store.address, lines)
    elapsed = time.monotonic() - started
    for name in ("chunk_count_2pow22", "chunk_count_2pow20_absent", "chunked_8tib_512mib_chunks", "huge_claim_plain"):
        assert tensor_corpus.CASES[name].key in proc.stdout
    if not (SANITIZE or VALGRIND):  # a head naming 2^20 absent chunks stops at the first: seconds, not minutes
        assert elapsed < 30, elapsed


def test_values_at_the_limits_still_read(native_c, store_client, c_store):
    """Attrs nested 64 deep, NaN and Infinity in attrs, escaped member names, dims; descriptions on their limits;
    bools of 0 and 1; a chunked head of 64-byte chunks written by hand: all read in C."""
    deep: object = []
    for _ in range(64 - 3):  # with the document and "attrs" around it, 64 deep
        deep = [deep]
    attrs = {"deep": deep, "nan": float("nan"), "inf": float("inf"), "text": "\u00e9\u2603\U0001f600"}
    store_client.put_tensor("edge_attrs", np.arange(4.0), dims=("x",), attrs=attrs)
    raw = store_client.redis().get("edge_attrs")
    assert b"NaN" in raw and b"Infinity" in raw
    store_client.redis().set("edge_escaped", _with_attrs(raw, b'{"\\u0064ims": ["x"]}'))  # "dims", escaped
    store_client.put_tensor("edge_bool", np.array([True, False, True]))
    with Client(c_store.address, chunk_threshold=64, chunk_bytes=64) as small_chunks:
        small_chunks.put_tensor("edge_chunked", np.arange(25.0))
    described = {  # descriptions on the edges of docs/protocol.md's "Describing a tensor"
        "edge_described": b'{"dims": ["\\u0078"], "coords": {"x": [1, NaN, -Infinity, 4], "t": -0.0}, '
        b'"block": {"shape": [9223372036854775807], "start": [-0]}}',
        "edge_block_end": b'{"block": {"shape": [9223372036854775807], "start": [9223372036854775803], "x": 1}}',
        "edge_256_coords": b'{"coords": {' + b", ".join(b'"c%d": "v"' % i for i in range(256)) + b"}}",
        "edge_dims_last_wins": b'{"dims": ["y"], "dims": ["x"], "coords": {"x": [1, 2, 3, 4.5]}}',
    }
    for key, attrs in described.items():
        store_client.redis().set(key, _with_attrs(raw, attrs))
        assert wire.decode_header(store_client.redis().get(key), key).ndim == 1  # Python reads them too
    lines = [
        *(_line(key, "SD_OK", 11, (4,)) for key in described),
        _line("edge_attrs", "SD_OK", 11, (4,)),
        _line("edge_escaped", "SD_OK", 11, (4,)),
        _line("edge_bool", "SD_OK", 14, (3,)),
        _line("edge_chunked", "SD_OK", 11, (25,)),
    ]
    _read_all(native_c, c_store.address, lines)


def _with_attrs(value: bytes, attrs: bytes) -> bytes:
    """A 1-d float64 (4,) value with its attrs replaced."""
    data = value[int.from_bytes(value[12:16], "little") :]
    used = 16 + 8 + len(attrs)
    offset = -(-used // 64) * 64
    fixed = value[:8] + len(attrs).to_bytes(4, "little") + offset.to_bytes(4, "little")
    return fixed + value[16:24] + attrs + bytes(offset - used) + data
