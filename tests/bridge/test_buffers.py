"""Pooled receive buffers: reused only once no array views them."""

from __future__ import annotations

import numpy as np

from simdask.bridge.buffers import BufferPool


def _memory(array: np.ndarray) -> int:
    """Identity of the pooled memory under an array (array -> ... -> memoryview -> owner)."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return id(base.obj._memory)


def test_memory_comes_back_when_the_last_view_is_gone():
    pool = BufferPool(max_bytes=64 << 20)
    a = pool.empty((512, 1024), np.float64, order="F")
    assert a.flags.f_contiguous and a.flags.writeable and a.shape == (512, 1024)
    a[:] = 7.0
    view = a[10:20].T
    first = _memory(a)
    del a
    b = pool.empty((512, 1024), np.float64)  # the first buffer is still viewed: new memory
    assert _memory(b) != first
    np.testing.assert_array_equal(view, 7.0)
    del view
    c = pool.empty((1024, 512), np.float64)  # same size: the first buffer again
    assert _memory(c) == first


def test_small_and_oversized_arrays_are_plain():
    pool = BufferPool(max_bytes=4 << 20)
    for shape in ((10,), (1024, 1024)):  # 80 bytes; 8 MiB > max_bytes
        array = pool.empty(shape, np.float64)
        assert array.flags.owndata and array.shape == shape


def test_the_pool_keeps_at_most_max_bytes():
    pool = BufferPool(max_bytes=3 << 20)
    arrays = [pool.empty((1 << 20,), np.uint8) for _ in range(5)]
    del arrays
    assert pool._free_bytes == 3 << 20
