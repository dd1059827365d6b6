"""simdask: couple running simulations with Dask, xarray and ML through an in-memory tensor store.

>>> import simdask, numpy as np                                # doctest: +SKIP
>>> with simdask.Store() as store:                             # doctest: +SKIP
...     client = simdask.Client(store.address)
...     client.put_tensor("u", np.zeros((64, 64)))
"""

from typing import TYPE_CHECKING, Any

from . import config as _config  # noqa: F401  (registers the simdask dask.config defaults)
from .bridge import open_colocated, open_dataarray, open_dataset, to_store, to_zarr, watch
from .client import Client, Dataset
from .errors import (
    AuthenticationError,
    ConcurrentUpdateError,
    ExperimentError,
    ExperimentTimeoutError,
    JobFailedError,
    KeyNotFoundError,
    LaunchError,
    ModelError,
    ModelTimeoutError,
    ResponseError,
    ServerNotFoundError,
    ServiceStateError,
    SimdaskError,
    StoreConnectionError,
    StoreError,
    StoreFullError,
    StoreStartError,
    StoreTimeoutError,
    TensorFormatError,
    TensorMismatchError,
    UnsupportedDtypeError,
    WatchTimeoutError,
    WrongTypeError,
)
from .experiment import Experiment, Status
from .protocol import END_OF_RUN
from .store import Store
from .wire import TensorInfo

if TYPE_CHECKING:
    from .bridge.zarr_store import ZarrStore
    from .inference.prediction import predict
    from .inference.server import InferenceServer

__version__ = "0.1.0"

__all__ = [
    "END_OF_RUN",
    "AuthenticationError",
    "Client",
    "ConcurrentUpdateError",
    "Dataset",
    "Experiment",
    "ExperimentError",
    "ExperimentTimeoutError",
    "InferenceServer",
    "JobFailedError",
    "KeyNotFoundError",
    "LaunchError",
    "ModelError",
    "ModelTimeoutError",
    "ResponseError",
    "ServerNotFoundError",
    "ServiceStateError",
    "SimdaskError",
    "Status",
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
    "WatchTimeoutError",
    "WrongTypeError",
    "ZarrStore",
    "__version__",
    "open_colocated",
    "open_dataarray",
    "open_dataset",
    "predict",
    "to_store",
    "to_zarr",
    "watch",
]


def __getattr__(name: str) -> Any:
    if name == "ZarrStore":  # imports zarr: only when used
        from .bridge.zarr_store import ZarrStore

        return ZarrStore
    if name in ("InferenceServer", "predict"):  # imports distributed: only when used
        from . import inference

        return getattr(inference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
