"""What is sent again after a broken connection, and what never is (real server; CLIENT KILL breaks it)."""

from __future__ import annotations

import threading
import time

import pytest

import simdask
from simdask.transport import Request, Transport


def kill_other_clients_soon(address: str, after: float = 0.3) -> threading.Thread:
    def kill() -> None:
        time.sleep(after)
        with simdask.Client(address) as admin:
            admin.redis().client_kill_filter(_type="normal", skipme=True)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


def test_classification():
    assert Request("k", [("GET", "k")]).retryable
    assert Request("k", [("MULTI",), ("SET", "k", b"v"), ("EXEC",)]).retryable
    assert not Request("k", [("RPUSH", "k", "v")]).retryable
    assert not Request("k", [("MULTI",), ("EVAL", "...", 1, "k"), ("SET", "k", "v"), ("EXEC",)]).retryable
    assert Request("k", [("EVAL", "...", 0)], idempotent=True).retryable
    assert not Request("k", [(b"XADD", "s", "*", "f", "v")]).retryable


def test_a_request_that_may_have_run_is_never_sent_twice(standalone_store):
    transport = Transport(standalone_store.address, password=standalone_store.password)
    transport.execute("l", "UNLINK", "l")
    killer = kill_other_clients_soon(standalone_store.address)
    with pytest.raises(simdask.StoreConnectionError, match="may or may not have been applied") as info:
        transport.run([Request("l", [("RPUSH", "l", "x"), ("BLPOP", "nothing", 5)])], timeout=10)
    killer.join()
    assert info.value.request_sent is True and standalone_store.address in str(info.value)
    assert transport.execute("l", "LLEN", "l") == 1  # applied once, not again


def test_an_idempotent_request_is_sent_again_on_a_fresh_connection(standalone_store):
    transport = Transport(standalone_store.address, password=standalone_store.password)
    killer = kill_other_clients_soon(standalone_store.address)
    request = Request("k", [("SET", "k", "v"), ("BLPOP", "nothing", 1)], idempotent=True)
    assert transport.run([request], timeout=10)[0] == ["OK", None]
    killer.join()


def test_no_retry_window_no_retry(standalone_store):
    transport = Transport(standalone_store.address, password=standalone_store.password, retry_window=0)
    killer = kill_other_clients_soon(standalone_store.address)
    with pytest.raises(simdask.StoreConnectionError):
        transport.run([Request("k", [("SET", "k", "v"), ("BLPOP", "nothing", 1)], idempotent=True)], timeout=10)
    killer.join()
