"""``simdask.Dataset``: named tensors plus metadata, stored together on one shard.

Layout (DESIGN.md): a hash ``{ds}.meta`` holding ``.tensor_names`` (JSON),
one field per metadata name (scalars: a 1-D tensor blob; strings: a JSON
array) and ``.COMPLETE = 1`` written last in the same transaction; one tensor
key ``{ds}.<tensor>`` per tensor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import wire
from ..errors import KeyNotFoundError, TensorFormatError, UnsupportedDtypeError
from .keys import check_name

__all__ = [
    "Dataset",
    "TENSOR_NAMES_FIELD",
    "COMPLETE_FIELD",
    "encode_metadata",
    "decode_metadata",
    "decode_tensor_names",
]

TENSOR_NAMES_FIELD = ".tensor_names"
COMPLETE_FIELD = ".COMPLETE"


class Dataset:
    """A named group of tensors and metadata that moves as one unit.

    :meth:`add_tensor` copies the caller's array (as SmartRedis does), so a
    buffer reused in a time loop does not change what was added before;
    ``copy=False`` keeps a reference instead, read when the dataset is put.

    Examples
    --------
    >>> ds = Dataset("step_10")
    >>> ds.add_tensor("u", np.zeros((4, 4)))
    >>> ds.add_meta_scalar("time", 0.5)
    >>> ds.add_meta_string("units", "m/s")
    >>> ds.get_tensor_names()
    ['u']
    """

    def __init__(self, name: str) -> None:
        self._name = check_name(name, "dataset")
        self._tensors: dict[str, np.ndarray] = {}
        self._tensor_meta: dict[str, tuple[tuple[str, ...] | None, dict[str, Any]]] = {}
        self._scalars: dict[str, list[Any]] = {}
        self._scalar_dtypes: dict[str, np.dtype] = {}
        self._strings: dict[str, list[str]] = {}

    @property
    def name(self) -> str:
        return self._name

    def get_name(self) -> str:
        """The dataset's name (SmartRedis spelling of :attr:`name`)."""
        return self._name

    # -- tensors -------------------------------------------------------------------

    def add_tensor(
        self,
        name: str,
        data: np.ndarray,
        *,
        dims: Sequence[str] | None = None,
        attrs: Mapping[str, Any] | None = None,
        copy: bool = True,
    ) -> None:
        """Add (or replace) tensor ``name``; optional dimension names and attrs travel with it.

        The dataset keeps a copy of ``data`` (its memory order too), so changing
        the caller's array afterwards changes nothing here. ``copy=False`` keeps
        a reference instead: no copy of a large array, but the caller must not
        change it before the dataset is put.
        """
        check_name(name, "tensor")
        if name == "meta":
            raise ValueError(f"dataset {self._name!r}: a tensor cannot be called 'meta' (that key is the metadata's)")
        array = np.array(data, order="K") if copy else np.asarray(data)
        try:
            wire.dtype_code(array.dtype)
        except UnsupportedDtypeError as exc:
            raise UnsupportedDtypeError(f"dataset {self._name!r} tensor {name!r}: {exc}") from None
        if dims is not None and len(dims) != array.ndim:
            raise ValueError(f"dataset {self._name!r} tensor {name!r}: {len(dims)} dims for a {array.ndim}-d array")
        self._tensors[name] = array
        self._tensor_meta[name] = (tuple(dims) if dims is not None else None, dict(attrs or {}))

    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor ``name`` of this dataset."""
        try:
            return self._tensors[name]
        except KeyError:
            raise KeyNotFoundError(
                f"dataset {self._name!r} has no tensor {name!r} (it has {list(self._tensors)})"
            ) from None

    def get_tensor_names(self) -> list[str]:
        return list(self._tensors)

    def get_tensor_type(self, name: str) -> np.dtype:
        return self.get_tensor(name).dtype

    def get_tensor_dims(self, name: str) -> list[int]:
        """The tensor's shape (SmartRedis calls it its dims)."""
        return list(self.get_tensor(name).shape)

    def get_tensor_dim_names(self, name: str) -> tuple[str, ...] | None:
        """Dimension names stored with the tensor, if any."""
        self.get_tensor(name)
        return self._tensor_meta[name][0]

    def get_tensor_attrs(self, name: str) -> dict[str, Any]:
        """Attrs stored with the tensor."""
        self.get_tensor(name)
        return self._tensor_meta[name][1]

    def tensor_items(self) -> list[tuple[str, np.ndarray, tuple[str, ...] | None, dict[str, Any]]]:
        """(name, array, dims, attrs) of every tensor, in insertion order."""
        return [(n, a, *self._tensor_meta[n]) for n, a in self._tensors.items()]

    # -- metadata ------------------------------------------------------------------

    def _check_field(self, name: str, kind: str) -> None:
        check_name(name, "metadata field")
        if name.startswith("."):
            raise ValueError(f"metadata field names starting with '.' are reserved, got {name!r}")
        other = self._strings if kind == "scalar" else self._scalars
        if name in other:
            holds = "strings" if kind == "scalar" else "scalars"
            raise TypeError(f"dataset {self._name!r} field {name!r} already holds {holds}")

    def add_meta_scalar(self, name: str, value: Any) -> None:
        """Append a numeric value to metadata field ``name`` (one dtype per field)."""
        self._check_field(name, "scalar")
        scalar = np.asarray(value)
        if scalar.ndim != 0 or scalar.dtype.kind not in "iufc":
            raise TypeError(f"metadata scalar {name!r} must be a single number, got {value!r}")
        dtype = self._scalar_dtypes.setdefault(name, scalar.dtype.newbyteorder("<"))
        if scalar.dtype != dtype:
            raise TypeError(f"metadata field {name!r} holds {dtype}; cannot append a {scalar.dtype} value")
        self._scalars.setdefault(name, []).append(scalar.item())

    def add_meta_string(self, name: str, value: str) -> None:
        """Append a string to metadata field ``name``."""
        self._check_field(name, "string")
        if not isinstance(value, str):
            raise TypeError(f"metadata string {name!r} must be a str, got {type(value).__name__}")
        self._strings.setdefault(name, []).append(value)

    def get_meta_scalars(self, name: str) -> np.ndarray:
        """The values appended to scalar field ``name``, as a 1-D array."""
        if name not in self._scalars:
            raise KeyNotFoundError(f"dataset {self._name!r} has no metadata scalar field {name!r}")
        return np.array(self._scalars[name], dtype=self._scalar_dtypes[name])

    def get_meta_strings(self, name: str) -> list[str]:
        """The strings appended to string field ``name``."""
        if name not in self._strings:
            raise KeyNotFoundError(f"dataset {self._name!r} has no metadata string field {name!r}")
        return list(self._strings[name])

    def get_metadata_field_names(self) -> list[str]:
        return [*self._scalars, *self._strings]

    def get_metadata_field_type(self, name: str) -> type | np.dtype:
        """``str`` for a string field, the numpy dtype for a scalar field."""
        if name in self._strings:
            return str
        if name in self._scalar_dtypes:
            return self._scalar_dtypes[name]
        raise KeyNotFoundError(f"dataset {self._name!r} has no metadata field {name!r}")

    def is_empty(self) -> bool:
        return not (self._tensors or self._scalars or self._strings)

    def __repr__(self) -> str:
        return f"<Dataset {self._name!r} tensors={list(self._tensors)} metadata={self.get_metadata_field_names()}>"


def encode_metadata(dataset: Dataset) -> list[tuple[str, bytes]]:
    """The hash fields of a dataset, ``.COMPLETE`` excluded."""
    fields = [(TENSOR_NAMES_FIELD, json.dumps(dataset.get_tensor_names()).encode())]
    for name in dataset.get_metadata_field_names():
        kind = dataset.get_metadata_field_type(name)
        if kind is str:
            fields.append((name, json.dumps(dataset.get_meta_strings(name)).encode()))
        else:
            values = dataset.get_meta_scalars(name)
            fields.append((name, wire.encode_header(values.dtype, values.shape, "C") + values.tobytes()))
    return fields


def decode_metadata(name: str, fields: dict[bytes, bytes], key: str) -> tuple[Dataset, list[str]]:
    """Rebuild a dataset's metadata from its hash; returns it and its tensor names.

    Every field is checked: names must be UTF-8; ``.tensor_names`` a JSON list
    of distinct non-empty names; a scalar field a plain (never chunked) 1-D
    numeric tensor blob; a string field a JSON list of strings. Anything else is
    a :class:`~simdask.errors.TensorFormatError` naming the hash and the field.
    Reserved fields (``.``) this version does not know are ignored.
    """
    dataset = Dataset(name)
    tensor_names: list[str] | None = None
    for raw_field, raw in fields.items():
        try:
            field = raw_field.decode("utf-8")
        except UnicodeDecodeError:
            raise TensorFormatError(f"dataset hash {key!r} has a field name that is not UTF-8: {raw_field!r}") from None
        if field == COMPLETE_FIELD:
            continue
        if field == TENSOR_NAMES_FIELD:
            tensor_names = decode_tensor_names(raw, key)
        elif not field or field.startswith("."):
            continue  # reserved for later versions
        elif raw[:4] == wire.MAGIC:
            _add_scalars(dataset, field, raw, key)
        else:
            for value in _json_list(raw, key, field):
                dataset.add_meta_string(field, value)
    if tensor_names is None:
        raise TensorFormatError(f"dataset hash {key!r} has no {TENSOR_NAMES_FIELD} field")
    return dataset, tensor_names


def decode_tensor_names(raw: bytes, key: str) -> list[str]:
    """The ``.tensor_names`` field: distinct non-empty tensor names other than ``meta``."""
    names = _json_list(raw, key, TENSOR_NAMES_FIELD)
    if any(not n or n == "meta" for n in names) or len(set(names)) != len(names):
        raise TensorFormatError(
            f"dataset hash {key!r} field {TENSOR_NAMES_FIELD!r} must name distinct tensors (non-empty, not 'meta')"
        )
    return names


def _add_scalars(dataset: Dataset, field: str, raw: bytes, key: str) -> None:
    where = f"{key} field {field}"
    info = wire.decode_header(raw, where)
    if info.chunked:
        raise TensorFormatError(f"metadata scalars at {where!r} are a chunked head: metadata is never chunked")
    wire.check_value_length(info, len(raw), where)
    if info.ndim != 1 or info.dtype.kind not in "iufc":
        raise TensorFormatError(
            f"metadata scalars at {where!r} must be a 1-D numeric tensor, got {info.dtype} {info.shape}"
        )
    for value in wire.array_from_buffer(info, raw, info.data_offset):
        dataset.add_meta_scalar(field, value)


def _json_list(raw: bytes, key: str, field: str) -> list[str]:
    try:
        value = wire.parse_json(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TensorFormatError(f"dataset hash {key!r} field {field!r} is not a JSON list of strings")
    return value
