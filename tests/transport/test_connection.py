"""RESP framing without copies, and replies read back from a real server."""

from __future__ import annotations

import numpy as np

from simdask.transport import Connection, ErrorReply, parse_addresses
from simdask.transport.connection import ZERO_COPY_BYTES, encode_commands


def test_small_arguments_are_framed_in_one_buffer():
    assert b"".join(encode_commands([("SET", "k", 12), ("GET", b"k")])) == (
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
    )


def test_large_arguments_are_sent_from_their_own_memory():
    data = np.arange(ZERO_COPY_BYTES, dtype=np.uint8)
    view = memoryview(data)
    buffers = encode_commands([("SET", "k", (b"head", view))])
    assert any(isinstance(b, memoryview) and b.obj is data for b in buffers)
    joined = b"".join(bytes(b) for b in buffers)
    assert joined.startswith(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\nhead" % (4 + data.nbytes))
    assert joined.endswith(data.tobytes() + b"\r\n")


def test_replies_of_every_kind(standalone_store):
    conn = Connection(parse_addresses(standalone_store.address)[0], password=standalone_store.password)
    try:
        assert conn.call("SET", "conn:k", "v") == "OK"
        assert conn.call("GET", "conn:k") == b"v"
        assert conn.call("GET", "conn:missing") is None
        assert conn.call("INCR", "conn:n") >= 1
        assert conn.call("RPUSH", "conn:l", "a", "b") >= 2
        assert conn.call("LRANGE", "conn:l", 0, 1) == [b"a", b"b"]
        error = conn.call("INCR", "conn:k")
        assert isinstance(error, ErrorReply) and error.startswith("ERR")
        big = np.random.default_rng(0).bytes(3 * 2**20)
        assert conn.call("SET", "conn:big", big) == "OK"
        assert conn.call("GET", "conn:big") == big
        assert conn.call("DEL", "conn:k", "conn:n", "conn:l", "conn:big") == 4
    finally:
        conn.close()


def test_redirect_parsing():
    assert ErrorReply("MOVED 3999 127.0.0.1:6381").redirect == ("MOVED", parse_addresses("127.0.0.1:6381")[0])
    assert ErrorReply("ASK 1 [::1]:7000").redirect[1].host == "::1"
    assert ErrorReply("ERR nope").redirect is None
