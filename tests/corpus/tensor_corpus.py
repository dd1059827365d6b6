"""Hostile tensor values: what every simdask reader must refuse cleanly.

Each case is one raw store value (plus, for some chunked heads, chunk keys)
that breaks the tensor wire format of DESIGN.md ("Tensor wire format,
version 1") in one way. A reader given it must fail with a format error
that names the key (C: ``SD_ERR_FORMAT``; Python: ``TensorFormatError``),
and nothing else: no crash, no hang, no allocation of what the header
claims, no data returned, and a client that still works afterwards.

Pure Python (``struct`` only), so that every language's tests can share it.
``tests`` has no packages; load it by path::

    sys.path.insert(0, str(ROOT / "tests" / "corpus"))
    import tensor_corpus

Interface
---------
``cases()``
    Yields ``(name, value)``: the case's name (unique, ``[a-z0-9_]``) and
    the bytes to store.
``CASES[name]``
    The :class:`Case` of that name, with everything else about it:

    - ``why``: one line, what it breaks;
    - ``key``: the store key to put ``value`` at: ``"corpus_" + name``, or
      a key with braces for the cases about hash tags; a test may add a
      prefix of its own (without braces) in front;
    - ``chunk_keys(key)``: the other raw keys to set first, as
      ``{store key: bytes}`` (a chunked head's chunks, under the hash tag
      of the key the head is stored at);
    - ``dtype``, ``shape``: what the header claims (wire dtype code, shape)
      when its fixed part and shape decode, else ``None``. Reading with
      these (an ``unpack`` into a buffer of that dtype and shape) reaches
      the checks of the data themselves instead of stopping at a mismatch.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Case", "CASES", "cases", "KEY_PREFIX"]

KEY_PREFIX = "corpus_"
MAGIC = b"SDT\x01"
FLOAT64, UINT8, BOOL = 11, 5, 14
_ITEMSIZE = {1: 1, 2: 2, 3: 4, 4: 8, 5: 1, 6: 2, 7: 4, 8: 8, 9: 2, 10: 4, 11: 8, 12: 8, 13: 16, 14: 1}
_MIB = 1 << 20


@dataclass(frozen=True)
class Case:
    """One hostile value (see the module's docstring)."""

    name: str
    why: str
    value: bytes
    key: str
    dtype: int | None = None
    shape: tuple[int, ...] | None = None
    generation: bytes = b""
    chunks: tuple[bytes | None, ...] = field(default=())  # chunk i's value; None: absent

    def chunk_keys(self, key: str | None = None) -> dict[str, bytes]:
        """The chunk keys to set for the head stored at ``key`` (default: :attr:`key`)."""
        key = self.key if key is None else key
        tag = _hash_tag(key)
        if tag is None:
            return {}
        return {
            f"simdask:chunk:{{{tag}}}:{self.generation.hex()}:{i}": chunk
            for i, chunk in enumerate(self.chunks)
            if chunk is not None
        }


def _hash_tag(key: str) -> str | None:
    """DESIGN.md's hash tag (as ``simdask.wire.hash_tag``)."""
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        return key[start + 1 : end] if end > start + 1 else None
    return None if "}" in key else key


def _header(
    dtype: int = FLOAT64,
    order: bytes = b"C",
    shape: tuple[int, ...] = (4,),
    flags: int = 0,
    attrs: bytes = b"",
    data_offset: int | None = None,
    magic: bytes = MAGIC,
    ndim: int | None = None,
    attrs_len: int | None = None,
) -> bytes:
    """A header, padded to data_offset; every field can lie."""
    ndim = len(shape) if ndim is None else ndim
    used = 16 + 8 * len(shape) + len(attrs)
    offset = -(-used // 64) * 64 if data_offset is None else data_offset
    fixed = magic + struct.pack(
        "<BcBBII", dtype, order, ndim, flags, len(attrs) if attrs_len is None else attrs_len, offset
    )
    body = fixed + struct.pack(f"<{len(shape)}Q", *shape) + attrs
    return body + bytes(max(0, offset - len(body)))


def _nbytes(shape: tuple[int, ...], dtype: int) -> int:
    n = _ITEMSIZE[dtype]
    for d in shape:
        n *= d
    return n


def _data(shape: tuple[int, ...], dtype: int = FLOAT64) -> bytes:
    n = _nbytes(shape, dtype)
    return bytes((i * 7) & 0x3F for i in range(n)) if dtype != BOOL else bytes(i & 1 for i in range(n))


def _plain(shape: tuple[int, ...] = (4,), dtype: int = FLOAT64, **header: object) -> bytes:
    return _header(dtype=dtype, shape=shape, **header) + _data(shape, dtype)  # type: ignore[arg-type]


def _ref(n_chunks: int, chunk_bytes: int, generation: bytes, reserved: int = 0) -> bytes:
    return struct.pack("<IIQ16s", n_chunks, reserved, chunk_bytes, generation)


def _generation(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()[:16]


CASES: dict[str, Case] = {}


def _case(
    name: str,
    why: str,
    value: bytes,
    *,
    key: str | None = None,
    dtype: int | None = None,
    shape: tuple[int, ...] | None = None,
    chunks: tuple[bytes | None, ...] = (),
) -> None:
    assert name not in CASES, name
    CASES[name] = Case(name, why, value, key or KEY_PREFIX + name, dtype, shape, _generation(name), chunks)


def _plain_case(name: str, why: str, value: bytes, shape: tuple[int, ...] = (4,), dtype: int = FLOAT64) -> None:
    """A case whose fixed header and shape decode to `dtype` `shape`."""
    _case(name, why, value, dtype=dtype, shape=shape)


def _chunked_case(
    name: str,
    why: str,
    *,
    shape: tuple[int, ...] = (25,),
    dtype: int = FLOAT64,
    chunk_bytes: int = 64,
    n_chunks: int | None = None,
    reserved: int = 0,
    attrs: bytes = b"",
    chunks: dict[int, bytes | None] | None = None,
    tail: bytes = b"",
    cut: int = 0,
    key: str | None = None,
) -> None:
    """A chunked head over `shape` (default 200 bytes of float64 in 64-byte chunks: 4 of them), its
    chunks present and whole (small tensors only) unless `chunks` says otherwise (index -> value, None: absent)."""
    nbytes = _nbytes(shape, dtype)
    whole = -(-nbytes // chunk_bytes) if chunk_bytes else 0
    n = whole if n_chunks is None else n_chunks
    gen = _generation(name)
    value = _header(dtype=dtype, shape=shape, flags=1, attrs=attrs) + _ref(n, chunk_bytes, gen, reserved) + tail
    data = _data(shape, dtype) if nbytes <= 4096 else b""
    stored: list[bytes | None] = [data[i * chunk_bytes : (i + 1) * chunk_bytes] for i in range(whole)] if data else []
    for i, chunk in (chunks or {}).items():
        stored += [None] * (i + 1 - len(stored))
        stored[i] = chunk
    _case(name, why, value[: len(value) - cut], key=key, dtype=dtype, shape=shape, chunks=tuple(stored))


def _attrs_case(name: str, why: str, attrs: bytes, shape: tuple[int, ...] = (2, 2)) -> None:
    _plain_case(name, why, _plain(shape, attrs=attrs), shape=shape)


def _nested(depth: int) -> bytes:
    """An object nested `depth` deep in all (the two outer objects count)."""
    return b'{"attrs": {"deep": ' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}"


# ---- the fixed header --------------------------------------------------------------------------------

_case("empty", "a zero-length value", b"")
_case("one_byte", "one byte: shorter than the magic", b"S")
_case("three_bytes", "the magic without its version byte", b"SDT")
_case("fifteen_bytes", "a fixed header cut one byte short", _header()[:15])
_case("bad_magic", "magic 'XDT'", _plain(magic=b"XDT\x01"))
_case("lowercase_magic", "magic 'sdt'", _plain(magic=b"sdt\x01"))
_case("version_0", "wire format version 0", _plain(magic=b"SDT\x00"))
_case("version_2", "wire format version 2 (from the future)", _plain(magic=b"SDT\x02"))
_case("version_255", "wire format version 255", _plain(magic=b"SDT\xff"))
_case("dtype_0", "dtype code 0 (none)", _header(dtype=0) + bytes(32))
_case("dtype_15", "dtype code 15, one past bool", _header(dtype=15) + bytes(32))
_case("dtype_255", "dtype code 255", _header(dtype=255) + bytes(32))
_case("order_nul", "order byte 0", _plain(order=b"\x00"))
_case("order_lowercase", "order byte 'c' (only 'C' and 'F')", _plain(order=b"c"))
_case("order_x", "order byte 'X'", _plain(order=b"X"))
_case("ndim_33", "33 dimensions (at most 32)", _header(ndim=33, shape=(1,) * 33) + bytes(8))
_case("ndim_255", "255 dimensions, shape bytes absent", _header(ndim=255, shape=()) + bytes(64))
_case("flag_bit_1", "unknown flag bit 1", _plain(flags=2))
_case("flags_all", "every flag bit set", _plain(flags=0xFF))
_case("flags_chunked_and_unknown", "the chunked flag plus an unknown bit", _plain(flags=3))

# ---- data_offset and attrs_len -----------------------------------------------------------------------

_case("offset_misaligned", "data_offset 40, not a multiple of 64", _header(data_offset=40)[:40] + _data((4,)))
_case("offset_zero", "data_offset 0, inside the fixed header", _header(data_offset=0)[:24] + _data((4,)))
_case(
    "offset_inside_shape",
    "data_offset 64 with 8 dims: the shape runs to byte 80",
    _header(shape=(1,) * 8, data_offset=64)[:80] + bytes(48) + _data((1,)),
)
_case("offset_beyond_value", "data_offset 1 MiB in a 96-byte value", _header(data_offset=_MIB)[:64] + _data((4,)))
_case("offset_max", "data_offset 0xFFFFFFC0", _header(data_offset=0xFFFFFFC0)[:64] + _data((4,)))
_case(
    "offset_inside_attrs",
    "attrs_len 100 but data_offset 64: data would overlap the attrs",
    _header(attrs=b'{"a": "' + b"x" * 90 + b'"}', data_offset=64)[:64] + _data((4,)),
)
_case(
    "attrs_len_beyond_value",
    "attrs_len 1 GiB in a 96-byte value",
    _header(attrs_len=1 << 30, data_offset=64)[:64] + _data((4,)),
)
_case("attrs_len_max", "attrs_len 0xFFFFFFFF", _header(attrs_len=0xFFFFFFFF, data_offset=64)[:64] + _data((4,)))

# ---- attrs JSON ---------------------------------------------------------------------------------------

_attrs_case("attrs_not_json", "attrs that are not JSON", b"not json")
_attrs_case("attrs_array", "attrs that are a JSON array, not an object", b"[1, 2]")
_attrs_case("attrs_string", "attrs that are a JSON string", b'"text"')
_attrs_case("attrs_number", "attrs that are a JSON number", b"42")
_attrs_case("attrs_null", "attrs that are JSON null", b"null")
_attrs_case("attrs_bad_utf8", "a 0xFF byte inside a string", b'{"attrs": {"a": "\xff"}}')
_attrs_case("attrs_overlong_utf8", "an overlong UTF-8 form of '/'", b'{"attrs": {"a": "\xc0\xaf"}}')
_attrs_case("attrs_surrogate_utf8", "a UTF-16 surrogate encoded in UTF-8", b'{"attrs": {"a": "\xed\xa0\x80"}}')
_attrs_case("attrs_truncated_utf8", "a UTF-8 sequence cut short", b'{"attrs": {"a": "\xe2\x82"}}')
_attrs_case("attrs_beyond_unicode", "a code point above U+10FFFF", b'{"attrs": {"a": "\xf4\x90\x80\x80"}}')
_attrs_case("attrs_nested_65", "nested 65 deep: one past C's limit of 64", _nested(65))
_attrs_case("attrs_nested_100000", "nested 100,000 deep (a recursive parser's stack)", _nested(100_000))
_attrs_case("attrs_unterminated_string", "a string that never ends", b'{"attrs": {"a": "x')
_attrs_case("attrs_unclosed_object", "an object that never closes", b'{"attrs": {}')
_attrs_case("attrs_trailing_garbage", "text after the object", b"{} x")
_attrs_case("attrs_trailing_comma", "a trailing comma", b'{"attrs": {"a": 1,}}')
_attrs_case("attrs_single_quotes", "single-quoted names", b"{'attrs': {}}")
_attrs_case("attrs_control_char", "a raw control character in a string", b'{"attrs": {"a": "\x01"}}')
_attrs_case("attrs_bad_escape", "an unknown escape", b'{"attrs": {"a": "\\q"}}')
_attrs_case("attrs_short_unicode_escape", "a \\u escape with 3 hex digits", b'{"attrs": {"a": "\\u12"}}')
_attrs_case("attrs_leading_zero", "a number with a leading zero", b'{"attrs": {"a": 01}}')
_attrs_case("attrs_bom", "a UTF-8 byte-order mark before the object", b"\xef\xbb\xbf{}")
_attrs_case("attrs_nul_after", "a NUL byte after the object", b"{}\x00")
_attrs_case("attrs_dims_not_list", '"dims" a string', b'{"dims": "xy"}')
_attrs_case("attrs_dims_too_short", '"dims" naming 1 of 2 dimensions', b'{"dims": ["x"]}')
_attrs_case("attrs_dims_too_long", '"dims" naming 3 of 2 dimensions', b'{"dims": ["x", "y", "z"]}')
_attrs_case("attrs_dims_not_strings", '"dims" of numbers', b'{"dims": [1, 2]}')
_attrs_case("attrs_dims_escaped_name", '"dims", its name spelled with an escape, not a list', b'{"\\u0064ims": 5}')
_attrs_case(
    "attrs_dims_last_wins", 'a valid "dims" overridden by a later invalid one', b'{"dims": ["x", "y"], "dims": 5}'
)
_attrs_case("attrs_attrs_not_object", '"attrs" a list', b'{"attrs": [1]}')
_attrs_case("attrs_attrs_null", '"attrs" null', b'{"attrs": null}')

# ---- the description: coords and block (docs/protocol.md, "Describing a tensor"; the tensor is (2, 2)) ----------

_DIMS = b'"dims": ["y", "x"], '
_attrs_case("coords_not_object", '"coords" a list', b'{"coords": [1, 2]}')
_attrs_case("coords_null", '"coords" null', b'{"coords": null}')
_attrs_case("coords_value_object", "a coordinate that is an object", b'{"coords": {"t": {}}}')
_attrs_case("coords_value_bool", "a coordinate that is a boolean", b'{"coords": {"t": true}}')
_attrs_case("coords_value_null", "a coordinate that is null", b'{"coords": {"t": null}}')
_attrs_case("coords_list_of_strings", "a coordinate list of strings", b"{" + _DIMS + b'"coords": {"x": ["a", "b"]}}')
_attrs_case("coords_list_nested", "a coordinate list of lists", b"{" + _DIMS + b'"coords": {"x": [[1], [2]]}}')
_attrs_case("coords_list_too_long", "3 values along a dimension of 2", b"{" + _DIMS + b'"coords": {"x": [1, 2, 3]}}')
_attrs_case(
    "coords_list_no_such_dim", "a coordinate list along no dimension", b"{" + _DIMS + b'"coords": {"z": [1, 2]}}'
)
_attrs_case("coords_list_without_dims", "a coordinate list on a tensor without dims", b'{"coords": {"x": [1, 2]}}')
_attrs_case(
    "coords_scalar_named_like_dim", "a scalar coordinate named like a dimension", b"{" + _DIMS + b'"coords": {"x": 1}}'
)
_attrs_case(
    "coords_escaped_dim_scalar",
    "a scalar coordinate named like a dimension, escaped",
    b"{" + _DIMS + b'"coords": {"\\u0078": 1}}',
)
_attrs_case("coords_repeated_name", "a coordinate named twice", b'{"coords": {"t": 1, "\\u0074": 2}}')
_attrs_case(
    "coords_257",
    "257 coordinates (at most 256)",
    b'{"coords": {' + b", ".join(b'"c%d": 1' % i for i in range(257)) + b"}}",
)
_attrs_case("block_not_object", '"block" a list', b'{"block": [0, 0]}')
_attrs_case("block_null", '"block" null', b'{"block": null}')
_attrs_case("block_without_start", '"block" without "start"', b'{"block": {"shape": [4, 4]}}')
_attrs_case("block_shape_short", 'a 1-d "shape" for a 2-d tensor', b'{"block": {"shape": [4], "start": [0, 0]}}')
_attrs_case("block_start_negative", "a negative start", b'{"block": {"shape": [4, 4], "start": [-1, 0]}}')
_attrs_case("block_start_float", "a start of 0.0 (not an integer)", b'{"block": {"shape": [4, 4], "start": [0.0, 0]}}')
_attrs_case(
    "block_start_exponent", "a start of 1e0 (not an integer)", b'{"block": {"shape": [4, 4], "start": [1e0, 0]}}'
)
_attrs_case("block_start_bool", "a start of true", b'{"block": {"shape": [4, 4], "start": [true, 0]}}')
_attrs_case("block_shape_string", 'a "shape" that is a string', b'{"block": {"shape": "44", "start": [0, 0]}}')
_attrs_case("block_outside", "a block reaching past its global shape", b'{"block": {"shape": [3, 4], "start": [2, 0]}}')
_attrs_case(
    "block_shape_2pow63",
    "a global shape of 2^63 (at most 2^63 - 1)",
    b'{"block": {"shape": [9223372036854775808, 4], "start": [0, 0]}}',
)
_attrs_case(
    "block_start_30_digits", "a start of 30 digits", b'{"block": {"shape": [4, 4], "start": [' + b"9" * 30 + b", 0]}}"
)
_attrs_case(
    "block_last_wins",
    'a valid "start" overridden by a later one outside',
    b'{"block": {"shape": [4, 4], "start": [0, 0], "start": [3, 0]}}',
)

# ---- length and shape ---------------------------------------------------------------------------------

_plain_case("truncated", "the data one element short", _plain()[:-8])
_plain_case("truncated_one_byte", "the data one byte short", _plain()[:-1])
_plain_case("overlong", "one element after the data", _plain() + bytes(8))
_plain_case("overlong_one_byte", "one byte after the data", _plain() + b"\0")
_case("cut_in_shape", "a 3-d header cut inside its shape", _header(shape=(2, 2, 2))[:30])
_case(
    "shape_overflow",
    "dims 2^62 x 2^62: the element count overflows 64 bits",
    _header(shape=(2**62, 2**62)) + _data((4,)),
)
_case("shape_bytes_overflow", "2^61 float64: the byte count overflows 64 bits", _header(shape=(2**61,)) + _data((4,)))
_case("shape_dim_max", "one dim of 2^64 - 1", _header(shape=(2**64 - 1,)) + _data((4,)))
_case(
    "zero_size_huge_dims",
    "a zero-size shape whose other dims overflow (0, 2^62, 2^62)",
    _header(shape=(0, 2**62, 2**62)),
)
_case(
    "zero_size_dim_over_int64", "a zero-size shape with a dim of 2^63 (no array can have it)", _header(shape=(0, 2**63))
)
_plain_case(
    "huge_claim_plain",
    "a plain head claiming 8 TiB with 32 bytes of data",
    _header(shape=(2**40,)) + _data((4,)),
    shape=(2**40,),
)

# ---- bool elements ------------------------------------------------------------------------------------

_plain_case("bool_0xff", "a bool element 0xFF", _header(dtype=BOOL, shape=(4,)) + b"\x01\x00\xff\x01", (4,), BOOL)
_plain_case("bool_2", "a bool element 2", _header(dtype=BOOL, shape=(4,)) + b"\x00\x02\x00\x00", (4,), BOOL)
_plain_case(
    "bool_last_0x80", "the last of 64 bools 0x80", _header(dtype=BOOL, shape=(8, 8)) + bytes(63) + b"\x80", (8, 8), BOOL
)

# ---- chunked heads ------------------------------------------------------------------------------------

_case("chunked_no_ref", "the chunked flag on a value that ends at data_offset", _header(flags=1))
_chunked_case("chunked_ref_cut", "a chunk reference one byte short", cut=1)
_chunked_case("chunked_ref_long", "8 bytes after the chunk reference", tail=bytes(8))
_chunked_case("chunk_ref_reserved", "the reserved word of the reference is 7", reserved=7)
_chunked_case("chunk_bytes_zero", "chunk_bytes 0", chunk_bytes=0, n_chunks=4)
_chunked_case(
    "chunk_bytes_over_512mib",
    "chunks of 512 MiB + 1 (values over 512 MB hit the server's limit)",
    shape=(100 * _MIB,),
    chunk_bytes=512 * _MIB + 1,
    n_chunks=2,
)
_chunked_case("chunk_count_low", "3 chunks of 64 bytes for 200 bytes", n_chunks=3)
_chunked_case("chunk_count_high", "5 chunks of 64 bytes for 200 bytes", n_chunks=5)
_chunked_case("chunk_count_zero", "0 chunks for 200 bytes", n_chunks=0)
_chunked_case("chunk_count_for_empty", "1 chunk for a zero-size tensor", shape=(0,), n_chunks=1)
_chunked_case(
    "chunk_count_2pow22",
    "2^22 one-byte chunks: more than the 2^20 any writer writes",
    shape=(1 << 22,),
    dtype=UINT8,
    chunk_bytes=1,
)
_chunked_case(
    "chunk_count_2pow20_absent",
    "2^20 one-byte chunks, none of them stored (reading must stop early)",
    shape=(1 << 20,),
    dtype=UINT8,
    chunk_bytes=1,
)
_chunked_case("chunked_8tib_4mib_chunks", "8 TiB in 4 MiB chunks: 2^21 of them", shape=(2**40,), chunk_bytes=4 * _MIB)
_chunked_case(
    "chunked_8tib_512mib_chunks",
    "8 TiB in 16384 chunks of 512 MiB, none stored (nothing to allocate)",
    shape=(2**40,),
    chunk_bytes=512 * _MIB,
)
_chunked_case(
    "chunks_all_missing",
    "a consistent head whose chunks were never written",
    chunks={0: None, 1: None, 2: None, 3: None},
)
_chunked_case("chunk_missing_middle", "chunk 1 of 4 missing", chunks={1: None})
_chunked_case("chunk_missing_last", "the last chunk missing", chunks={3: None})
_chunked_case("chunk_short", "chunk 1 one byte short", chunks={1: bytes(63)})
_chunked_case("chunk_long", "chunk 0 one byte long", chunks={0: bytes(65)})
_chunked_case("chunk_last_full", "the last chunk full-size instead of the 8-byte remainder", chunks={3: bytes(64)})
_chunked_case("chunk_empty", "chunk 2 an empty string", chunks={2: b""})
_chunked_case("chunked_bad_attrs", "a chunked head with attrs that are not JSON", attrs=b"{oops}")
_chunked_case(
    "chunked_bool_0xff",
    "a chunked bool tensor with a 0xFF element in its last chunk",
    shape=(200,),
    dtype=BOOL,
    chunks={3: b"\x01" * 7 + b"\xff"},
)
_chunked_case(
    "chunked_key_empty_tag",
    "a chunked head at a key whose braces are empty ('a{}b'): never chunked",
    key=KEY_PREFIX + "a{}b",
)
_chunked_case("chunked_key_unclosed_brace", "a chunked head at a key with '{' and no '}'", key=KEY_PREFIX + "a{b")
_chunked_case("chunked_key_close_brace_only", "a chunked head at a key with '}' and no '{'", key=KEY_PREFIX + "a}b")

# ---- foreign values -----------------------------------------------------------------------------------

_case("random_bytes", "1 KiB of every byte value", bytes(range(256)) * 4)
_case("png", "a PNG signature", b"\x89PNG\r\n\x1a\n" + bytes(56))
_case("json_text", "a JSON document", json.dumps({"not": "a tensor"}).encode())
_case("big_foreign", "20 MiB of zeros (refused after 16 bytes: a reader should not drain it all)", bytes(20 * _MIB))


def cases() -> Iterator[tuple[str, bytes]]:
    """(name, value) of every case, in a stable order."""
    for case in CASES.values():
        yield case.name, case.value
