"""``simdask.predict``: map a stored model over the chunks of a dask array or DataArray, on the workers.

Each worker loads the model once from the store (cached by name and version)
and runs it on its chunks; GPU models are annotated with the ``GPU`` resource
so Dask places their chunks on GPU workers. The first dimension is the batch
dimension: chunks along it map to chunks of the result.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ..client import Client
from ..protocol.models import read_blob, read_specs
from .backends import Runner, load_runner

__all__ = ["predict"]

_CACHE: dict[tuple[str, str], tuple[int, Runner]] = {}
_CACHE_LOCK = threading.Lock()


def _runner(client: Client, name: str) -> Runner:
    """The model ``name`` loaded in this process, reloaded when its stored version changed."""
    spec = read_specs(client.session, "model", [name])[0]
    if spec is None:
        raise KeyError(f"model {name!r} does not exist in the store at {client.address}")
    key = (client.address, name)
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is None or cached[0] != spec.version:
            fresh, blob = read_blob(client.session, "model", name)
            cached = _CACHE[key] = (fresh.version, load_runner(fresh, blob, name))
        return cached[1]


def _run_block(block: np.ndarray, client: Client, name: str, output: int) -> np.ndarray:
    return _runner(client, name).run([block])[output]


def _probe(client: Client, name: str, sample: np.ndarray, output: int) -> tuple[tuple[int, ...], np.dtype]:
    result = _run_block(sample, client, name, output)
    return result.shape[1:], result.dtype


def predict(
    data: Any,
    model: str,
    address: str | None = None,
    *,
    output: int = 0,
    output_shape: tuple[int, ...] | None = None,
    output_dtype: Any = None,
    dims: tuple[str, ...] | None = None,
) -> Any:
    """Run stored model ``model`` over ``data`` chunk by chunk on the Dask workers, lazily.

    Parameters
    ----------
    data
        A dask array, numpy array or xarray DataArray; its first dimension is
        the batch dimension (rows the model maps one by one). Chunk it along
        the first dimension only.
    model
        Name of a model stored with ``Client.set_model``.
    address
        The store (``None``: ``SIMDASK_ADDRESS``).
    output
        Which of the model's outputs to return.
    output_shape, output_dtype
        Shape of one output row and its dtype; found by running the model on
        two rows (on a worker) when not given.
    dims
        Dimension names of a DataArray result (default: the input's first
        dimension, then ``<model>_dim_<i>``).

    Returns
    -------
    A dask array, or a DataArray (with the input's first coordinate) for a DataArray input.
    """
    import dask
    import dask.array as da

    client = Client(address)
    spec = read_specs(client.session, "model", [model])[0]
    if spec is None:
        raise KeyError(f"model {model!r} does not exist in the store at {client.address}")
    xarray_input = hasattr(data, "dims") and hasattr(data, "coords")
    array = data.data if xarray_input else data
    array = array if isinstance(array, da.Array) else da.from_array(np.asarray(array), chunks=(-1,))
    if array.ndim == 0:
        raise ValueError("predict needs a batch dimension: the data is 0-d")
    if any(len(c) > 1 for c in array.chunks[1:]):
        array = array.rechunk({i: -1 for i in range(1, array.ndim)})
    if output_shape is None or output_dtype is None:
        sample = np.zeros((2, *array.shape[1:]), dtype=array.dtype)
        found_shape, found_dtype = dask.delayed(_probe)(client, model, sample, output).compute()
        output_shape = found_shape if output_shape is None else tuple(output_shape)
        output_dtype = found_dtype if output_dtype is None else output_dtype
    annotations = {"resources": {"GPU": 1}} if spec.on_gpu else {}
    drop = list(range(1, array.ndim))
    new = list(range(1, 1 + len(output_shape)))
    with dask.annotate(**annotations):
        result = array.map_blocks(
            _run_block,
            client,
            model,
            output,
            dtype=np.dtype(output_dtype),
            drop_axis=drop or None,
            new_axis=new or None,
            chunks=(array.chunks[0], *[(n,) for n in output_shape]),
            name=f"simdask-predict-{model}",
        )
    if not xarray_input:
        return result
    import xarray as xr

    first = data.dims[0]
    names = dims or (first, *[f"{model}_dim_{i}" for i in range(len(output_shape))])
    coords = {first: data.coords[first]} if first in data.coords else None
    return xr.DataArray(result, dims=names, coords=coords, name=f"{model}_prediction")
