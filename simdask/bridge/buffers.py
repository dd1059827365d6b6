"""Receive buffers that are recycled once no array views them any more.

Dask workers run with ``MALLOC_TRIM_THRESHOLD_`` set, so every large
``np.empty`` maps fresh pages and pays a page fault per 4 KiB while the data
arrive: reading an 8 MiB tensor takes about twice as long as into memory
used before. Blocks are therefore received into pooled memory. Each array
handed out views its memory through a small owner object; when the last view
of it is gone, the owner gives the memory back to the pool.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from typing import Any

import numpy as np

__all__ = ["BufferPool", "pool"]


class _Owner(ctypes.Array[ctypes.c_ubyte]):
    """Exports a pooled buffer to numpy; gives it back when garbage-collected."""

    _type_ = ctypes.c_ubyte
    _length_ = 0
    _pool: BufferPool
    _memory: np.ndarray

    def __del__(self) -> None:
        self._pool.give_back(self._memory)


@functools.lru_cache(maxsize=64)
def _owner_type(nbytes: int) -> type[_Owner]:
    return type("_Owner", (_Owner,), {"_type_": ctypes.c_ubyte, "_length_": nbytes})


class BufferPool:
    """Memory for received arrays, reused by size.

    Parameters
    ----------
    max_bytes
        Free memory the pool keeps at most; buffers beyond it are released.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._free: dict[int, list[np.ndarray]] = {}
        self._free_bytes = 0
        self._lock = threading.Lock()

    def empty(self, shape: tuple[int, ...], dtype: np.dtype, order: Any = "C") -> np.ndarray:
        """An uninitialised array, like :func:`numpy.empty`, in pooled memory when it is worth it."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if nbytes < 1 << 20 or nbytes > self.max_bytes:
            return np.empty(shape, dtype=dtype, order=order)
        with self._lock:
            free = self._free.get(nbytes)
            memory = free.pop() if free else None
            if memory is not None:
                self._free_bytes -= nbytes
        if memory is None:
            memory = np.empty(nbytes, dtype=np.uint8)
        owner = _owner_type(nbytes).from_buffer(memory.data)
        owner._pool, owner._memory = self, memory
        return np.frombuffer(memoryview(owner), dtype=dtype).reshape(shape, order=order)

    def give_back(self, memory: np.ndarray) -> None:
        with self._lock:
            if self._free_bytes + memory.nbytes <= self.max_bytes:
                self._free.setdefault(memory.nbytes, []).append(memory)
                self._free_bytes += memory.nbytes


#: This process's pool (each Dask worker process has its own).
pool = BufferPool(max_bytes=256 << 20)
