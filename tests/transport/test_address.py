"""SIMDASK_ADDRESS parsing."""

from __future__ import annotations

import pytest

from simdask.transport import Address, format_addresses, parse_addresses


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1:6379", (Address("127.0.0.1", 6379),)),
        ("[::1]:7000", (Address("::1", 7000),)),
        ("unix:///tmp/x.sock", (Address(path="/tmp/x.sock"),)),
        ("127.0.0.1:1, 127.0.0.1:2,", (Address("127.0.0.1", 1), Address("127.0.0.1", 2))),
        ("localhost:80", (Address("localhost", 80),)),
    ],
)
def test_parse_and_format(text, expected):
    assert parse_addresses(text) == expected
    assert parse_addresses(format_addresses(expected)) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("127.0.0.1", "invalid store address"),
        ("127.0.0.1:0", "invalid store address"),
        ("127.0.0.1:70000", "invalid store address"),
        (":6379", "invalid store address"),
        ("unix://relative.sock", "absolute path"),
        ("unix:///a.sock,127.0.0.1:1", "cannot contain Unix sockets"),
    ],
)
def test_bad_addresses(text, message):
    with pytest.raises(ValueError, match=message):
        parse_addresses(text)
