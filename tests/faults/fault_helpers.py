"""Helpers of the fault tests: freeze, restart and time real servers."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

import simdask
from simdask.locality import node_name
from simdask.protocol.requests import REQUEST_STREAM, node_stream

#: What a call may take beyond its own time limit before a test calls it an overrun (2 shared cores).
MARGIN_S = 1.0


@contextlib.contextmanager
def frozen(store: simdask.Store) -> Iterator[None]:
    """The store's server stopped (SIGSTOP: it accepts connections, answers nothing) inside the block."""
    pid = store.servers[0].pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def held_requests(raw) -> int:
    """Run requests serving loops hold (read, not answered): on the main stream, and on this node's stream once
    loops of this node run (docs/protocol.md, "Run requests")."""
    import redis

    count = 0
    for stream in (REQUEST_STREAM, node_stream(node_name())):
        try:
            count += raw.xpending(stream, "simdask")["pending"]
        except redis.ResponseError:  # no loop made its group yet
            pass
    return count


def restart(store: simdask.Store, down_s: float = 0.0) -> None:
    """Stop the store's server process and start a new one on the same address (and run directory)."""
    server = store.servers[0]
    server.stop(timeout=5)
    if down_s:
        time.sleep(down_s)
    server.start()
    server.wait_ready(time.monotonic() + 20)


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """The block returns or raises within ``seconds`` plus :data:`MARGIN_S`."""
    started = time.monotonic()
    try:
        yield
    finally:
        took = time.monotonic() - started
        if took > seconds + MARGIN_S:
            raise AssertionError(f"took {took:.2f} s, the limit was {seconds} s (+ {MARGIN_S} s)")


def tensor_blob(
    array,
    *,
    attrs_json: bytes = b"",
    flags: int = 0,
    shape=None,
    dtype_code: int | None = None,
    order: bytes = b"C",
    tail: bytes | None = None,
) -> bytes:
    """A tensor value laid out by hand as DESIGN.md's wire format says (so tests can write what simdask never
    would): fixed header, shape, attrs JSON, zero padding to a multiple of 64, then the data (or ``tail``)."""
    import struct

    import numpy as np

    from simdask import wire

    array = np.ascontiguousarray(array)
    shape = array.shape if shape is None else shape
    code = wire.dtype_code(array.dtype) if dtype_code is None else dtype_code
    used = 16 + 8 * len(shape) + len(attrs_json)
    data_offset = -(-used // 64) * 64
    fixed = struct.pack("<4sBBBBII", b"SDT\x01", code, order[0], len(shape), flags, len(attrs_json), data_offset)
    head = fixed + struct.pack(f"<{len(shape)}Q", *shape) + attrs_json + bytes(data_offset - used)
    return head + (array.tobytes() if tail is None else tail)
