"""simdask: couple running simulations with Dask, xarray and ML through an in-memory tensor store.

>>> import simdask, numpy as np                                # doctest: +SKIP
>>> with simdask.Store() as store:                             # doctest: +SKIP
...     client = simdask.Client(store.address)
...     client.put_tensor("u", np.zeros((64, 64)))
"""

from . import config as _config  # noqa: F401  (registers the simdask dask.config defaults)
from .client import Client, Dataset
from .errors import (
    AuthenticationError,
    ConcurrentUpdateError,
    KeyNotFoundError,
    ResponseError,
    ServerNotFoundError,
    SimdaskError,
    StoreConnectionError,
    StoreError,
    StoreFullError,
    StoreStartError,
    StoreTimeoutError,
    TensorFormatError,
    TensorMismatchError,
    UnsupportedDtypeError,
    WrongTypeError,
)
from .store import Store
from .wire import TensorInfo

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "Client",
    "ConcurrentUpdateError",
    "Dataset",
    "KeyNotFoundError",
    "ResponseError",
    "ServerNotFoundError",
    "SimdaskError",
    "Store",
    "StoreConnectionError",
    "StoreError",
    "StoreFullError",
    "StoreStartError",
    "StoreTimeoutError",
    "TensorFormatError",
    "TensorInfo",
    "TensorMismatchError",
    "UnsupportedDtypeError",
    "WrongTypeError",
    "__version__",
]
