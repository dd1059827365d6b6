"""``Dataset``: SmartRedis's DataSet over :class:`simdask.Dataset` (tensors and metadata that move together)."""

from __future__ import annotations

from typing import Any

import numpy as np

import simdask

from .srobject import SRObject
from .util import Dtypes, exception_handler, typecheck

__all__ = ["Dataset"]


class Dataset(SRObject):
    """Named tensors plus metadata fields, put into and read from the store as one unit.

    :meth:`add_tensor` copies the array, so a buffer reused in a time loop
    does not change what was added before. Tensors are of SmartRedis's types
    (float64, float32, int8..int64, uint8, uint16); metadata scalars of
    float32, float64, int32, int64, uint32 or uint64.
    """

    def __init__(self, name: str) -> None:
        typecheck(name, "name", str)
        super().__init__(name)
        self._data = _new(name)

    @staticmethod
    def from_pybind(dataset: simdask.Dataset) -> Dataset:
        """A Dataset over an existing :class:`simdask.Dataset` (SmartRedis's name: the object underneath)."""
        typecheck(dataset, "dataset", simdask.Dataset)
        wrapped = Dataset(dataset.get_name())
        wrapped.set_data(dataset)
        return wrapped

    def get_data(self) -> simdask.Dataset:
        """The :class:`simdask.Dataset` underneath."""
        return self._data

    def set_data(self, dataset: simdask.Dataset) -> None:
        """Use ``dataset`` (a :class:`simdask.Dataset`) underneath from now on."""
        typecheck(dataset, "dataset", simdask.Dataset)
        self._data = dataset

    @exception_handler
    def add_tensor(self, name: str, data: np.ndarray) -> None:
        """Add (or replace) tensor ``name``: a copy of ``data``."""
        typecheck(name, "name", str)
        typecheck(data, "data", np.ndarray)
        Dtypes.tensor_from_numpy(data)
        self._data.add_tensor(name, data)

    @exception_handler
    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor ``name`` (:class:`~smartredis.error.RedisKeyError` when there is none)."""
        typecheck(name, "name", str)
        return self._data.get_tensor(name)

    @exception_handler
    def get_name(self) -> str:
        """The dataset's name."""
        return self._data.get_name()

    @exception_handler
    def add_meta_scalar(self, name: str, data: int | float | np.number[Any]) -> None:
        """Append a number to metadata field ``name`` (created at the first one; one type per field)."""
        typecheck(name, "name", str)
        scalar = np.asarray(data)
        if scalar.size != 1:
            raise TypeError("Argument provided is not a scalar")
        Dtypes.metadata_from_numpy(scalar)
        self._data.add_meta_scalar(name, scalar.reshape(()))

    @exception_handler
    def add_meta_string(self, name: str, data: str) -> None:
        """Append a string to metadata field ``name`` (created at the first one)."""
        typecheck(name, "name", str)
        typecheck(data, "data", str)
        self._data.add_meta_string(name, data)

    @exception_handler
    def get_meta_scalars(self, name: str) -> np.ndarray:
        """The numbers of scalar field ``name``, in the order appended, as a 1-D array."""
        typecheck(name, "name", str)
        return self._data.get_meta_scalars(name)

    @exception_handler
    def get_meta_strings(self, name: str) -> list[str]:
        """The strings of string field ``name``, in the order appended."""
        typecheck(name, "name", str)
        return self._data.get_meta_strings(name)

    @exception_handler
    def get_metadata_field_names(self) -> list[str]:
        """The names of every metadata field."""
        return self._data.get_metadata_field_names()

    @exception_handler
    def get_metadata_field_type(self, name: str) -> type:
        """``str`` for a string field, the numpy type (``numpy.float64``, ...) for a scalar field."""
        typecheck(name, "name", str)
        kind = self._data.get_metadata_field_type(name)
        return kind if kind is str else np.dtype(kind).type

    @exception_handler
    def get_tensor_type(self, name: str) -> type:
        """The numpy type of tensor ``name`` (``numpy.float32``, ...)."""
        typecheck(name, "name", str)
        return self._data.get_tensor_type(name).type

    @exception_handler
    def get_tensor_names(self) -> list[str]:
        """The names of every tensor, in the order added."""
        return self._data.get_tensor_names()

    @exception_handler
    def get_tensor_dims(self, name: str) -> list[int]:
        """The shape of tensor ``name``."""
        typecheck(name, "name", str)
        return self._data.get_tensor_dims(name)

    def __str__(self) -> str:
        lines = [f"DataSet ({self._data.get_name()}):", "  Tensors:"]
        for tensor in self._data.get_tensor_names():
            array = self._data.get_tensor(tensor)
            lines.append(f"    {tensor}: {array.dtype} {list(array.shape)}")
        lines.append("  Metadata:")
        for field in self._data.get_metadata_field_names():
            kind = self._data.get_metadata_field_type(field)
            values = self._data.get_meta_strings(field) if kind is str else self._data.get_meta_scalars(field).tolist()
            lines.append(f"    {field}: {values}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<smartredis.Dataset {self._data.get_name()!r}>"


@exception_handler
def _new(name: str) -> simdask.Dataset:
    return simdask.Dataset(name)
