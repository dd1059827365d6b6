"""The xarray/Dask bridge: store keys as lazy xarray collections, and back.

- :func:`open_dataset` / :func:`open_dataarray`: keys named by a template as
  a lazy Dataset, one dask chunk per key, read on the Dask workers;
- :func:`open_colocated`: the same over several stores (co-located, one per node);
- :func:`watch`: follow a running simulation step by step, until its
  end-of-run marker (:data:`simdask.END_OF_RUN`);
- :func:`to_store`: xarray, dask or numpy data back into the store;
- :func:`to_zarr`: persist what a template matches into a zarr v3 store;
- :class:`ZarrStore`: a zarr v3 store on simdask's store (imported on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .colocated import open_colocated
from .dataset import open_dataarray, open_dataset
from .to_store import to_store
from .watch import watch
from .zarr_ import to_zarr

if TYPE_CHECKING:
    from .zarr_store import ZarrStore

__all__ = [
    "ZarrStore",
    "open_colocated",
    "open_dataarray",
    "open_dataset",
    "to_store",
    "to_zarr",
    "watch",
]


def __getattr__(name: str) -> Any:
    if name == "ZarrStore":  # zarr is imported only when its store is used
        from .zarr_store import ZarrStore

        return ZarrStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
