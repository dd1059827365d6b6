"""Tensor wire format, version 1: encode and decode the blob of one tensor.

The format is specified in DESIGN.md ("Tensor wire format, version 1"): a
16-byte fixed header, the shape, optional attrs JSON, zero padding to a
64-byte aligned ``data_offset``, then either the data (plain form) or a
32-byte chunk reference (chunked form, flag bit 0).

This module only converts between bytes and Python values; it does no I/O.
Every decoding function validates what it reads and raises
:class:`~simdask.errors.TensorFormatError` naming the key: it never returns
wrong data.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .errors import TensorFormatError, UnsupportedDtypeError

__all__ = [
    "MAGIC",
    "MAX_NDIM",
    "ALIGNMENT",
    "FIXED_HEADER",
    "CHUNK_REF_SIZE",
    "HEADER_PROBE_BYTES",
    "MAX_CHUNKS",
    "MAX_CHUNK_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_COORDS",
    "Order",
    "BytesLike",
    "DTYPES",
    "TensorInfo",
    "Placement",
    "ChunkRef",
    "dtype_code",
    "encode_header",
    "encode_chunk_ref",
    "decode_header",
    "header_length",
    "peek_data_offset",
    "decode_chunk_ref",
    "check_value_length",
    "array_from_buffer",
    "check_bool_values",
    "parse_json",
    "hash_tag",
    "chunk_prefix",
    "chunk_key",
]

#: Memory order of the stored elements: row-major (C) or column-major (F).
Order = Literal["C", "F"]
#: Anything that exposes bytes through the buffer protocol.
BytesLike = bytes | bytearray | memoryview | np.ndarray

MAGIC = b"SDT\x01"
MAX_NDIM = 32
ALIGNMENT = 64
FIXED_HEADER = 16
CHUNK_REF_SIZE = 32
FLAG_CHUNKED = 0x01
#: Bytes a reader fetches to learn a tensor's header without its data (``GETRANGE key 0 511``):
#: the fixed header and the shape of any tensor (at most ``16 + 8 * 32`` bytes) plus short attrs.
#: A longer header (see :func:`header_length`) costs one more read.
HEADER_PROBE_BYTES = 512
#: Most chunks one chunked tensor may have (2**20): the cleanup script (``docs/protocol.md``) ignores
#: chunk references beyond it, so a reader refuses them instead of reading millions of keys.
MAX_CHUNKS = 2**20
#: Largest chunk: values over 512 MiB hit the server's limit.
MAX_CHUNK_BYTES = 512 * 2**20
#: Deepest nesting of arrays and objects accepted in any JSON simdask reads from the store (tensor
#: attrs, dataset metadata, run requests); the C client has the same limit. Checked before parsing,
#: so a hostile value cannot make the parser recurse.
MAX_JSON_DEPTH = 64
#: Most coordinates one tensor's description may give (``coords`` members); the C client has the same limit.
MAX_COORDS = 256
#: Block shapes and starts are integers below this (they fit the int64 of every client).
_MAX_INDEX = 2**63
#: Largest ``prod(non-zero dims) * itemsize`` a shape may claim: numpy cannot hold more, even for an
#: array with a zero dimension.
_MAX_EXTENT = 2**62

#: Wire dtype code -> little-endian numpy dtype.
DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<i8"),
    5: np.dtype("<u1"),
    6: np.dtype("<u2"),
    7: np.dtype("<u4"),
    8: np.dtype("<u8"),
    9: np.dtype("<f2"),
    10: np.dtype("<f4"),
    11: np.dtype("<f8"),
    12: np.dtype("<c8"),
    13: np.dtype("<c16"),
    14: np.dtype("?"),
}
_CODES: dict[tuple[str, int], int] = {(dt.kind, dt.itemsize): code for code, dt in DTYPES.items()}
_ORDERS: dict[int, Order] = {ord("C"): "C", ord("F"): "F"}
_FIXED = struct.Struct("<4sBBBBII")
_CHUNK_REF = struct.Struct("<IIQ16s")


@dataclass(frozen=True)
class Placement:
    """Where a tensor sits in a global array (its ``block``), in the tensor's own index order.

    Attributes
    ----------
    shape
        The global array's shape.
    start
        The 0-based index of the tensor's first element in the global array.
    """

    shape: tuple[int, ...]
    start: tuple[int, ...]


@dataclass(frozen=True)
class TensorInfo:
    """What the header of a stored tensor says, without its data.

    Attributes
    ----------
    dtype, shape, order
        The array's numpy dtype (little-endian), shape, and memory order
        (``"C"`` or ``"F"``) of the stored elements.
    dims
        Dimension names, or ``None`` when the writer gave none.
    attrs
        Free-form metadata stored with the tensor (e.g. units).
    coords
        Coordinates: name -> a number or string (a coordinate of the key, such
        as the model time of a step), or a list of numbers along the dimension
        of that name.
    block
        Where the tensor sits in a global array, or ``None``.
    data_offset
        Where the data (or the chunk reference) starts in the value.
    chunked
        Whether the data live in chunk keys (DESIGN.md's chunked form).
    """

    dtype: np.dtype
    shape: tuple[int, ...]
    order: Order
    dims: tuple[str, ...] | None
    attrs: Mapping[str, Any] = field(default_factory=dict)
    data_offset: int = 0
    chunked: bool = False
    coords: Mapping[str, Any] = field(default_factory=dict)
    block: Placement | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def value_length(self) -> int:
        """The exact length the stored value must have."""
        return self.data_offset + (CHUNK_REF_SIZE if self.chunked else self.nbytes)


@dataclass(frozen=True)
class ChunkRef:
    """Where the data of a chunked tensor live: ``n_chunks`` keys of one generation."""

    n_chunks: int
    chunk_bytes: int
    generation: bytes

    def chunk_length(self, index: int, nbytes: int) -> int:
        """Length in bytes of chunk ``index`` of a tensor holding ``nbytes`` of data."""
        return min(self.chunk_bytes, nbytes - index * self.chunk_bytes)


def dtype_code(dtype: np.dtype) -> int:
    """The wire code of a numpy dtype, regardless of its byte order.

    Raises :class:`UnsupportedDtypeError` for dtypes the format cannot hold.
    """
    dtype = np.dtype(dtype)
    code = _CODES.get((dtype.kind, dtype.itemsize))
    if code is None or dtype.fields is not None or dtype.subdtype is not None:
        raise UnsupportedDtypeError(
            f"dtype {dtype} cannot be stored as a tensor; supported: " + ", ".join(str(dt) for dt in DTYPES.values())
        )
    return code


def _attrs_json(
    dims: Sequence[str] | None,
    attrs: Mapping[str, Any] | None,
    shape: tuple[int, ...],
    coords: Mapping[str, Any] | None,
    block: Placement | Mapping[str, Sequence[int]] | None,
) -> bytes:
    ndim = len(shape)
    doc: dict[str, Any] = {}
    if dims is not None:
        dims = [str(d) for d in dims]
        if len(dims) != ndim:
            raise ValueError(f"{len(dims)} dimension names given for a {ndim}-d tensor: {dims}")
        doc["dims"] = dims
    if attrs:
        doc["attrs"] = dict(attrs)
    if coords:
        doc["coords"] = {_coord_name(name): _coord_value(name, value) for name, value in coords.items()}
        _check_coords(doc["coords"], doc.get("dims"), shape, len(doc["coords"]))
    if block is not None:
        doc["block"] = _block_doc(block)
        _check_block(doc["block"], shape)
    if not doc:
        return b""
    try:
        return json.dumps(doc, default=_json_default, separators=(",", ":")).encode()
    except TypeError as exc:
        raise TypeError(f"tensor attrs must be JSON-serialisable: {exc}") from None


def _coord_name(name: Any) -> str:
    if not isinstance(name, str):
        raise ValueError(f"coordinate names are strings, got {name!r}")
    return name


def _coord_value(name: str, value: Any) -> Any:
    """A coordinate as JSON holds it: a number, a string, or a list of numbers."""
    if isinstance(value, str):
        return value
    array = np.asarray(value)
    if array.dtype.kind in "iuf" and array.ndim <= 1:
        return array.tolist()  # Python int/float (a 0-d array) or a list of them
    if array.dtype.kind == "U" and array.ndim == 0:
        return str(array)
    raise ValueError(
        f"coordinate {name!r} must be a number, a string or a 1-D sequence of numbers, "
        f"got {type(value).__name__} of dtype {array.dtype} and shape {array.shape}"
    )


def _block_doc(block: Placement | Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    shape: Sequence[int]
    start: Sequence[int]
    if isinstance(block, Placement):
        shape, start = block.shape, block.start
    elif isinstance(block, Mapping) and "shape" in block and "start" in block:
        shape, start = block["shape"], block["start"]
    else:
        raise ValueError(f"block must be {{'shape': global shape, 'start': offset}} or a Placement, got {block!r}")
    try:
        return {"shape": [operator.index(n) for n in shape], "start": [operator.index(n) for n in start]}
    except TypeError:
        raise ValueError(f"block shape and start must be sequences of integers, got {block!r}") from None


_NUMBERS = frozenset((int, float))


def _is_number(value: Any) -> bool:
    return type(value) in _NUMBERS  # JSON gives no subclasses; not bool


def _check_coords(coords: Any, dims: Sequence[str] | None, shape: tuple[int, ...], members: int | None) -> None:
    """What a description's ``coords`` must be (docs/protocol.md, "Describing a tensor"); ``members``: how
    many the JSON object names (repeated names included)."""
    if not isinstance(coords, dict):
        raise ValueError('"coords" is not a JSON object')
    if members is not None and members > MAX_COORDS:
        raise ValueError(f"{members} coordinates (at most {MAX_COORDS})")
    if members is not None and members != len(coords):
        raise ValueError('"coords" names a coordinate twice')
    for name, value in coords.items():
        axis = list(dims).index(name) if dims is not None and name in dims else None
        if isinstance(value, list) and _NUMBERS.issuperset(map(type, value)):
            if axis is None:
                raise ValueError(f"coordinate {name!r} is a list but the tensor has no dimension {name!r}")
            if len(value) != shape[axis]:
                raise ValueError(f"coordinate {name!r} has {len(value)} values; dimension {name!r} has {shape[axis]}")
        elif isinstance(value, str) or _is_number(value):
            if axis is not None:
                raise ValueError(f"coordinate {name!r} is a scalar but {name!r} is a dimension of the tensor")
        else:
            raise ValueError(f"coordinate {name!r} is not a number, a string or a list of numbers: {value!r}")


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_INDEX


def _check_block(block: Any, shape: tuple[int, ...]) -> Placement:
    """What a description's ``block`` must be (docs/protocol.md, "Describing a tensor")."""
    ndim = len(shape)
    parts = [block.get("shape"), block.get("start")] if isinstance(block, dict) else [None, None]
    if not all(isinstance(p, list) and len(p) == ndim and all(_is_index(v) for v in p) for p in parts):
        raise ValueError(
            f'"block" must be {{"shape": [...], "start": [...]}} with one integer in [0, 2**63) per dimension '
            f"({ndim}), got {block!r}"
        )
    global_shape, start = tuple(block["shape"]), tuple(block["start"])
    if any(s + n > g for s, n, g in zip(start, shape, global_shape)):
        raise ValueError(f"a block of shape {shape} at {start} does not fit in the global shape {global_shape}")
    return Placement(shape=global_shape, start=start)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} {value!r} is not JSON-serialisable")


def encode_header(
    dtype: np.dtype,
    shape: Sequence[int],
    order: Order,
    *,
    dims: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    chunked: bool = False,
    coords: Mapping[str, Any] | None = None,
    block: Placement | Mapping[str, Sequence[int]] | None = None,
) -> bytes:
    """Encode everything before the data: fixed header, shape, attrs and padding.

    The result's length is the tensor's ``data_offset``. ``dims``, ``attrs``,
    ``coords`` and ``block`` describe the tensor (``docs/protocol.md``,
    "Describing a tensor"); a description that does not fit the shape is a
    :class:`ValueError`.
    """
    ndim = len(shape)
    if ndim > MAX_NDIM:
        raise ValueError(f"a tensor has at most {MAX_NDIM} dimensions, got {ndim}")
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    if dims is None and not attrs and not coords and block is None:  # a time loop writes the same header every step
        return _bare_header(dtype_code(dtype), order, tuple(shape), chunked)
    shape = tuple(shape)
    return _header(dtype_code(dtype), order, shape, chunked, _attrs_json(dims, attrs, shape, coords, block))


@functools.lru_cache(maxsize=256)
def _bare_header(code: int, order: Order, shape: tuple[int, ...], chunked: bool) -> bytes:
    return _header(code, order, shape, chunked, b"")


def _header(code: int, order: Order, shape: tuple[int, ...], chunked: bool, attrs_json: bytes) -> bytes:
    ndim = len(shape)
    used = FIXED_HEADER + 8 * ndim + len(attrs_json)
    data_offset = -(-used // ALIGNMENT) * ALIGNMENT
    fixed = _FIXED.pack(MAGIC, code, ord(order), ndim, FLAG_CHUNKED if chunked else 0, len(attrs_json), data_offset)
    return b"".join((fixed, struct.pack(f"<{ndim}Q", *shape), attrs_json, bytes(data_offset - used)))


def encode_chunk_ref(ref: ChunkRef) -> bytes:
    """The 32 bytes a chunked head holds at its ``data_offset``."""
    return _CHUNK_REF.pack(ref.n_chunks, 0, ref.chunk_bytes, ref.generation)


def _byte_view(buffer: BytesLike) -> memoryview:
    data = buffer.data if isinstance(buffer, np.ndarray) else memoryview(buffer)
    return data.cast("B") if data.format != "B" or data.ndim != 1 else data


def decode_header(buffer: BytesLike, key: str) -> TensorInfo:
    """Decode and validate the header at the start of a stored value.

    ``buffer`` may be the whole value or any prefix that holds the fixed
    header, the shape and the attrs. The value's total length is checked
    separately against :attr:`TensorInfo.value_length`.
    """
    view = _byte_view(buffer)
    if len(view) < FIXED_HEADER:
        raise TensorFormatError(
            f"value at key {key!r} is not a simdask tensor: {len(view)} bytes, "
            f"shorter than the {FIXED_HEADER}-byte header"
        )
    magic, code, order_byte, ndim, flags, attrs_len, data_offset = _FIXED.unpack_from(view, 0)
    if magic[:3] != MAGIC[:3]:
        raise TensorFormatError(f"value at key {key!r} is not a simdask tensor (bad magic {magic!r})")
    if magic[3] != MAGIC[3]:
        raise TensorFormatError(
            f"tensor at key {key!r} has wire format version {magic[3]}; this simdask reads version {MAGIC[3]}"
        )
    dtype = DTYPES.get(code)
    if dtype is None:
        raise TensorFormatError(f"tensor at key {key!r} has unknown dtype code {code}")
    order = _ORDERS.get(order_byte)
    if order is None:
        raise TensorFormatError(f"tensor at key {key!r} has invalid order byte 0x{order_byte:02x}")
    if ndim > MAX_NDIM:
        raise TensorFormatError(f"tensor at key {key!r} claims {ndim} dimensions (at most {MAX_NDIM})")
    if flags & ~FLAG_CHUNKED:
        raise TensorFormatError(f"tensor at key {key!r} has unknown flag bits 0x{flags:02x}")
    attrs_end = FIXED_HEADER + 8 * ndim + attrs_len
    if data_offset % ALIGNMENT or data_offset < attrs_end:
        raise TensorFormatError(
            f"tensor at key {key!r} has invalid data_offset {data_offset} (header and attrs end at {attrs_end})"
        )
    if len(view) < attrs_end:
        raise TensorFormatError(f"tensor at key {key!r} is truncated: {len(view)} bytes, header needs {attrs_end}")
    shape = struct.unpack_from(f"<{ndim}Q", view, FIXED_HEADER)
    extent = math.prod(shape) if 0 not in shape else math.prod(n for n in shape if n)
    if extent * dtype.itemsize >= _MAX_EXTENT:
        raise TensorFormatError(
            f"tensor at key {key!r} claims shape {shape} of {dtype}: more elements than any array can hold"
        )
    dims, attrs, coords, block = _decode_attrs(bytes(view[FIXED_HEADER + 8 * ndim : attrs_end]), shape, key)
    return TensorInfo(
        dtype=dtype,
        shape=tuple(shape),
        order=order,
        dims=dims,
        attrs=attrs,
        data_offset=data_offset,
        chunked=bool(flags & FLAG_CHUNKED),
        coords=coords,
        block=block,
    )


def header_length(fixed: bytes) -> int | None:
    """Bytes of a value's fixed header, shape and attrs, from its first 16 bytes.

    ``None`` when they are not the start of a version-1 tensor (too short,
    another magic): :func:`decode_header` then says what is wrong.

    >>> header_length(encode_header(np.dtype("f8"), (3, 4), "C"))
    32
    """
    if len(fixed) < FIXED_HEADER or fixed[:4] != MAGIC:
        return None
    return FIXED_HEADER + 8 * fixed[6] + int.from_bytes(fixed[8:12], "little")


def peek_data_offset(fixed: bytes) -> int | None:
    """Where the data start, from a value's first 16 bytes; ``None`` when they are not a version-1 tensor's.

    Nothing else is validated: a reader uses it to know how much header to
    read before it decides where the data go (one call per value read, so
    kept to two slices).

    >>> peek_data_offset(encode_header(np.dtype("f8"), (3, 4), "C"))
    64
    """
    if len(fixed) < FIXED_HEADER or fixed[:4] != MAGIC:
        return None
    return int.from_bytes(fixed[12:16], "little")


_JSON_TOKENS = re.compile(rb'[\[\]{}"\\]')


def _json_depth_exceeds(raw: bytes, limit: int) -> bool:
    """Whether arrays/objects in ``raw`` nest deeper than ``limit`` (strings skipped); linear time."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # too few openings to nest that deep: no need to walk
        return False
    depth = 0
    in_string = False
    escaped_until = -1
    for match in _JSON_TOKENS.finditer(raw):
        pos = match.start()
        if pos < escaped_until:
            continue
        char = raw[pos]
        if in_string:
            if char == 0x5C:  # a backslash escapes the next byte
                escaped_until = pos + 2
            elif char == 0x22:
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif char in (0x5D, 0x7D):
            depth -= 1
    return False


def parse_json(raw: bytes | str, limit: int = MAX_JSON_DEPTH, *, members: dict[int, int] | None = None) -> Any:
    """Parse UTF-8 JSON read from the store, refusing nesting deeper than ``limit`` before parsing.

    Raises :class:`ValueError` (the caller names the key) for anything that is
    not such JSON: invalid UTF-8, invalid JSON, too deep. ``members``, when
    given, gets ``id(obj) -> number of members`` of every object parsed,
    repeated names included (the parsed dict keeps the last of them).

    >>> parse_json(b'{"dims": ["y", "x"]}')
    {'dims': ['y', 'x']}
    >>> parse_json(b"[" * 65 + b"]" * 65)
    Traceback (most recent call last):
    ...
    ValueError: JSON nested deeper than 64 levels
    """
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if _json_depth_exceeds(data, limit):
        raise ValueError(f"JSON nested deeper than {limit} levels")
    hook = None if members is None else functools.partial(_counted_object, members)
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=hook)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc}") from None
    except RecursionError:  # unreachable after the depth check; kept as the last line of defence
        raise ValueError(f"JSON nested deeper than {limit} levels") from None


def _counted_object(members: dict[int, int], pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    members[id(obj)] = len(pairs)
    return obj


def _decode_attrs(
    raw: bytes, shape: tuple[int, ...], key: str
) -> tuple[tuple[str, ...] | None, dict[str, Any], dict[str, Any], Placement | None]:
    if not raw:
        return None, {}, {}, None
    # the members of "coords" are counted (repeated names included); any other JSON goes without the hook
    members: dict[int, int] | None = {} if b"coords" in raw or b"\\u" in raw else None
    try:
        doc = parse_json(raw, members=members)
    except ValueError as exc:
        raise TensorFormatError(f"tensor at key {key!r} has invalid attrs JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise TensorFormatError(f"tensor at key {key!r} has attrs that are not a JSON object")
    ndim = len(shape)
    dims = doc.get("dims")
    if dims is not None:
        if not (isinstance(dims, list) and len(dims) == ndim and all(isinstance(d, str) for d in dims)):
            raise TensorFormatError(f"tensor at key {key!r} has invalid dims {dims!r} for {ndim} dimensions")
        dims = tuple(dims)
    attrs = doc.get("attrs", {})
    if not isinstance(attrs, dict):
        raise TensorFormatError(f"tensor at key {key!r} has attrs that are not a JSON object")
    coords: dict[str, Any] = {}
    block = None
    try:
        if "coords" in doc:
            coords = doc["coords"]
            _check_coords(coords, dims, shape, None if members is None else members.get(id(coords)))
        if "block" in doc:
            block = _check_block(doc["block"], shape)
    except ValueError as exc:
        raise TensorFormatError(f"tensor at key {key!r} has an invalid description: {exc}") from None
    return dims, attrs, coords, block


def check_value_length(info: TensorInfo, length: int, key: str) -> None:
    """Refuse a value whose length is not exactly what its header implies."""
    if length != info.value_length:
        form = "chunked head" if info.chunked else "tensor"
        raise TensorFormatError(
            f"{form} at key {key!r} is {length} bytes but its header implies {info.value_length} "
            f"({info.dtype} {info.shape}): truncated or corrupt"
        )


def decode_chunk_ref(buffer: BytesLike, info: TensorInfo, key: str) -> ChunkRef:
    """Decode and validate the chunk reference of a chunked head value."""
    view = _byte_view(buffer)
    check_value_length(info, len(view), key)
    n_chunks, reserved, chunk_bytes, generation = _CHUNK_REF.unpack_from(view, info.data_offset)
    nbytes = info.nbytes
    valid = (
        reserved == 0
        and 0 < chunk_bytes <= MAX_CHUNK_BYTES
        and n_chunks == -(-nbytes // chunk_bytes)
        and n_chunks <= MAX_CHUNKS
    )
    if not valid:
        raise TensorFormatError(
            f"chunked tensor at key {key!r} has an inconsistent chunk reference: {n_chunks} chunks of {chunk_bytes} "
            f"bytes (reserved word {reserved}) for {nbytes} bytes of data; a valid one has "
            f"ceil(data / chunk_bytes) <= {MAX_CHUNKS} chunks of 1 byte to 512 MiB and a zero reserved word"
        )
    return ChunkRef(n_chunks=n_chunks, chunk_bytes=chunk_bytes, generation=generation)


def array_from_buffer(info: TensorInfo, buffer: Any, offset: int = 0) -> np.ndarray:
    """View ``buffer`` (from ``offset``) as the tensor ``info`` describes, without copying."""
    flat = np.frombuffer(buffer, dtype=info.dtype, count=info.size, offset=offset)
    return flat.reshape(info.shape, order=info.order)


def check_bool_values(info: TensorInfo, array: np.ndarray, key: str) -> None:
    """Refuse a bool tensor holding bytes other than 0 and 1 (numpy would show them as ``True`` but compare
    them as different values)."""
    if info.dtype.kind == "b" and array.size and int(array.view(np.uint8).max()) > 1:
        raise TensorFormatError(f"bool tensor at key {key!r} holds bytes other than 0 and 1: corrupt")


def hash_tag(key: str) -> str | None:
    """The cluster hash tag of a key, as DESIGN.md and ``docs/protocol.md`` define it.

    The text between the first ``{`` and the next ``}`` if non-empty, else the
    whole key; ``None`` when the key has braces but no valid tag. The server
    hashes such a key whole (:func:`simdask.transport.key_slot`), but it is
    never chunked (:func:`chunk_prefix`).

    >>> hash_tag("p.{ds}.meta"), hash_tag("u"), hash_tag("{}u")
    ('ds', 'u', None)
    """
    start = key.find("{")
    if start >= 0:
        end = key.find("}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
        return None
    if "}" in key:
        return None
    return key


def chunk_prefix(key: str) -> str | None:
    """``simdask:chunk:{T}:``, the prefix of every chunk key of the tensor at ``key``."""
    tag = hash_tag(key)
    return None if tag is None else f"simdask:chunk:{{{tag}}}:"


def chunk_key(prefix: str, generation: bytes, index: int) -> str:
    """Key of chunk ``index`` of ``generation`` under a :func:`chunk_prefix`."""
    return f"{prefix}{generation.hex()}:{index}"
