"""Type names, argument checks and the error-translating decorator every SmartRedis call goes through."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from .error import translate

__all__ = ["Dtypes", "init_default", "exception_handler", "typecheck"]

_F = TypeVar("_F", bound=Callable[..., Any])

#: SmartRedis's tensor types (numpy dtype name -> SmartRedis name): the only ones it stores.
_TENSOR_TYPES = {
    "float64": "DOUBLE",
    "float32": "FLOAT",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "uint8": "UINT8",
    "uint16": "UINT16",
}
#: SmartRedis's metadata scalar types.
_METADATA_TYPES = {
    "float64": "DOUBLE",
    "float32": "FLOAT",
    "int32": "INT32",
    "int64": "INT64",
    "uint32": "UINT32",
    "uint64": "UINT64",
}
#: SmartRedis type name -> the Python type its getters return.
_TYPES_BY_NAME: dict[str, type] = {
    "DOUBLE": np.float64,
    "FLOAT": np.float32,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "STRING": str,
}


class Dtypes:
    """SmartRedis's names for numpy types."""

    @staticmethod
    def tensor_from_numpy(array: np.ndarray) -> str:
        """The SmartRedis tensor type of ``array``; a :class:`TypeError` for a type SmartRedis does not store."""
        try:
            return _TENSOR_TYPES[str(array.dtype)]
        except KeyError:
            raise TypeError(f"Incompatible tensor type provided {array.dtype}") from None

    @staticmethod
    def metadata_from_numpy(array: np.ndarray) -> str:
        """The SmartRedis metadata scalar type of ``array``; a :class:`TypeError` for any other."""
        try:
            return _METADATA_TYPES[str(array.dtype)]
        except KeyError:
            raise TypeError(f"Incompatible metadata type provided {array.dtype}") from None

    @staticmethod
    def from_string(type_name: str) -> type:
        """The Python type of SmartRedis type ``type_name`` (``"FLOAT"`` -> ``numpy.float32``)."""
        try:
            return _TYPES_BY_NAME[type_name]
        except KeyError:
            raise TypeError(f"Unrecognized type name {type_name}") from None


def init_default(default: Any, init_value: Any, expected_type: type | tuple[type, ...] | None = None) -> Any:
    """``init_value``, or ``default`` when it is ``None``; a :class:`TypeError` when it is not ``expected_type``."""
    if init_value is None:
        return default
    if expected_type is not None and not isinstance(init_value, expected_type):
        raise TypeError(f"Argument was of type {type(init_value)}, not {expected_type}")
    return init_value


def typecheck(arg: Any, name: str, expected: type | tuple[type, ...]) -> None:
    """A :class:`TypeError` naming argument ``name`` when ``arg`` is not an ``expected``."""
    if not isinstance(arg, expected):
        raise TypeError(f"Argument {name} is of type {type(arg)}, not {expected}")


def exception_handler(func: _F) -> _F:
    """Raise simdask's errors out of ``func`` as SmartRedis's (:data:`smartredis.error.TRANSLATION`).

    The message says which call failed (``Client.get_tensor execution failed``)
    and keeps simdask's text.
    """

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            translated = translate(exc, func.__qualname__)
            if translated is None:
                raise
            raise translated from None

    return call  # type: ignore[return-value]


def client_method(func: _F) -> _F:
    """:func:`exception_handler` for a method a mixin gives ``Client``: named ``Client.<method>``, errors too."""
    func.__qualname__ = f"Client.{func.__name__}"
    return exception_handler(func)
