"""Persist what a key template matches into a zarr v3 store (on disk, or any zarr store)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import _progress as progress
from ..client import Client
from .dataset import open_dataset
from .layout import Chunks, Missing

if TYPE_CHECKING:
    import xarray

__all__ = ["to_zarr"]


def _regular(dataset: xarray.Dataset) -> xarray.Dataset:
    """Rechunk dimensions whose chunks zarr cannot hold (uneven blocks) to their largest chunk."""
    sizes: dict[Any, int] = {}
    for variable in dataset.variables.values():
        if variable.chunks is None:
            continue
        for dim, chunks in zip(variable.dims, variable.chunks):
            if len(set(chunks[:-1])) > 1 or (len(chunks) > 1 and chunks[-1] > chunks[0]):
                sizes[dim] = max(sizes.get(dim, 0), *chunks)
    return dataset.chunk(sizes) if sizes else dataset


def to_zarr(
    template: str,
    store: Any,
    address: str | Client | None = None,
    *,
    concat: Mapping[str, str | int] | None = None,
    chunks: Chunks | None = None,
    missing: Missing = "raise",
    name: str | None = None,
    sel: Mapping[str, Any] | None = None,
    mode: str = "w-",
    consolidated: bool = True,
    encoding: Mapping[str, Any] | None = None,
    run: int | str | None = None,
) -> xarray.Dataset:
    """Copy what a key template matches into a zarr v3 store, through xarray.

    The copy runs on the active Dask scheduler: workers read the tensors
    from the store and write zarr chunks, so the data never pass through
    this process; a progress bar counts its tasks (in Jupyter or on a
    terminal; ``simdask.progress``). Reopen it with ``xarray.open_zarr(store)``.

    Parameters
    ----------
    template, address, concat, chunks, missing, name, run
        As for :func:`open_dataset` (``run``: the current run by default).
    store
        A path on disk, or any zarr store (e.g. a :class:`ZarrStore`).
    sel
        Label selection applied before writing, e.g. a window of steps:
        ``{"step": slice(100, 200)}``.
    mode
        As for :meth:`xarray.Dataset.to_zarr`: ``"w-"`` (default) refuses to
        overwrite, ``"w"`` replaces.
    consolidated
        Also write consolidated metadata (zarr-python's extension of zarr v3;
        xarray and zarr-python read it), so that ``xarray.open_zarr(store)``
        opens the copy with one metadata read.
    encoding
        Per-variable zarr encoding, as for :meth:`xarray.Dataset.to_zarr`
        (e.g. ``{"u": {"compressors": None}}``).

    Returns
    -------
    xarray.Dataset
        The lazy dataset that was written.

    Examples
    --------
    >>> simdask.to_zarr("{var}.step{step:d}", "run.zarr", address, sel={"step": slice(0, 99)})  # doctest: +SKIP
    >>> xarray.open_zarr("run.zarr")                                                          # doctest: +SKIP
    """
    dataset = open_dataset(template, address, concat=concat, chunks=chunks, missing=missing, name=name, run=run)
    if sel:
        dataset = dataset.sel(sel)
    dataset = _regular(dataset)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)
        writes = dataset.to_zarr(  # type: ignore[call-overload]
            store, mode=mode, zarr_format=3, consolidated=consolidated, encoding=dict(encoding or {}), compute=False
        )
        progress.compute(writes, f"to_zarr {template}")
    return dataset
