"""A store server restarted (its process stopped, a new one started on the same address) or away for a
while under running clients: idempotent calls are retried within the retry window, non-idempotent ones
are never sent twice, and pooled connections the old server held do not fail a call each."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fault_helpers import MARGIN_S, held_requests, restart, within

import simdask
from simdask.transport import Request

WINDOW_S = 2.0  # simdask.client.retry-window


@pytest.fixture
def persistent_store(monkeypatch):
    """A store that keeps its data across a restart (append-only file, fsync'd at every write), so that
    a retried write that landed twice would show."""
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Store(persist=True, server_config={"appendfsync": "always"}) as store:
        yield store


def test_a_restart_does_not_fail_the_pooled_connections(own_store):
    client = simdask.Client(own_store.address)
    transport = client.session.transport

    def hold_a_connection() -> None:  # eight at once: the pool keeps eight idle connections afterwards
        transport.run([Request("x", [("BLPOP", "nothing", 0.3)])], timeout=5)

    threads = [threading.Thread(target=hold_a_connection) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    raw = client.redis()
    assert len(raw.client_list()) >= 9  # eight pooled connections and redis-py's
    raw.close()
    restart(own_store)  # every pooled connection is now closed by the server
    errors: list[BaseException] = []

    def use(i: int) -> None:
        try:
            client.put_tensor(f"k{i}", np.full(3, i))
            np.testing.assert_array_equal(client.get_tensor(f"k{i}"), np.full(3, i))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=use, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_restarts_under_running_writers_and_readers(persistent_store):
    store = persistent_store
    address = store.address
    simdask.Client(address).put_tensor("fixed", np.arange(100.0))
    stop = threading.Event()
    unexpected: list[BaseException] = []
    appends: dict[int, list[tuple[int, str]]] = {0: [], 1: []}
    counts = {"reads": 0, "writes": 0}

    def writer(w: int) -> None:
        client = simdask.Client(address, chunk_threshold=1024, chunk_bytes=4096)
        i = 0
        try:
            while not stop.is_set():
                client.put_tensor(f"plain{w}", np.full(10, i))
                client.put_tensor(f"big{w}", np.full(2000, i))  # chunked: 4 chunks of 4 KiB
                try:
                    client.append_to_list(f"list{w}", simdask.Dataset(f"step{i}"))
                    appends[w].append((i, "ok"))
                except simdask.StoreConnectionError as exc:  # sent when the server went: never sent twice
                    assert "may or may not have been applied" in str(exc) and address in str(exc), exc
                    appends[w].append((i, "unknown"))
                assert client.get_tensor(f"big{w}")[-1] == i
                counts["writes"] += 1
                i += 1
        except BaseException as exc:  # reported below
            unexpected.append(exc)

    def reader() -> None:
        client = simdask.Client(address)
        try:
            while not stop.is_set():
                np.testing.assert_array_equal(client.get_tensor("fixed"), np.arange(100.0))
                assert client.tensor_info("fixed").shape == (100,)
                client.get_list_length("list0")
                counts["reads"] += 1
        except BaseException as exc:  # reported below
            unexpected.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in (0, 1)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(2):
            time.sleep(0.5)
            before = dict(counts)
            restart(store)  # a few hundred milliseconds down, far less than the retry window
            time.sleep(0.3)
            assert counts["reads"] > before["reads"] and counts["writes"] > before["writes"], "clients stalled"
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert not unexpected, unexpected
    client = simdask.Client(address)
    for w, outcomes in appends.items():
        stored = [
            int(entry.rsplit("step", 1)[1].rstrip("}"))
            for entry in client.redis().lrange(f"list{w}", 0, -1)
            for entry in [entry.decode()]
        ]
        assert len(stored) == len(set(stored)), "an append was applied twice"
        assert stored == sorted(stored)
        unknown = {i for i, how in outcomes if how == "unknown"}
        assert len(unknown) <= 2  # at most one append in flight per restart
        assert set(stored) - unknown == {i for i, how in outcomes if how == "ok"}


def test_an_outage_shorter_than_the_retry_window_fails_no_call(persistent_store):
    store = persistent_store
    client = simdask.Client(store.address)
    client.put_tensor("u", np.ones(5))
    server = store.servers[0]
    server.stop(timeout=5)
    results: dict[str, object] = {}

    def call(name: str, fn) -> None:
        try:
            results[name] = fn()
        except BaseException as exc:  # reported below
            results[name] = exc

    calls = {
        "get": lambda: client.get_tensor("u").sum(),
        "put": lambda: client.put_tensor("v", np.zeros(2)),
        "append": lambda: client.append_to_list("l", simdask.Dataset("d")),  # refused connections: never sent
        "length": lambda: client.get_list_length("l"),
    }
    threads = [threading.Thread(target=call, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    time.sleep(0.8)
    server.start()
    server.wait_ready(time.monotonic() + 20)
    for thread in threads:
        thread.join(10)
    assert results["get"] == 5.0 and results["put"] is None and results["append"] is None, results
    assert client.get_list_length("l") == 1


def test_a_longer_outage_fails_naming_the_address_within_the_window(own_store):
    client = simdask.Client(own_store.address)
    client.put_tensor("u", np.ones(5))
    own_store.servers[0].stop(timeout=5)
    try:
        for call in (lambda: client.get_tensor("u"), lambda: client.append_to_list("l", simdask.Dataset("d"))):
            with within(WINDOW_S), pytest.raises(simdask.StoreConnectionError, match=own_store.address):
                call()
    finally:
        own_store.servers[0].start()
        own_store.servers[0].wait_ready(time.monotonic() + 20)
    assert client.get_list_length("l") == 0  # the refused append never reached the server
    assert MARGIN_S < WINDOW_S


SLOW = """
def slow(x, n):
    y = x
    for i in range(int(n.item())):
        y = y + 1.0
    return y
"""


def test_a_run_request_in_flight_across_a_restart_is_answered(persistent_store, dask_client):
    pytest.importorskip("torch")
    store = persistent_store
    client = simdask.Client(store.address)
    client.set_script("slow", SLOW)
    client.put_tensor("x", np.zeros(1, np.float32))
    client.put_tensor("n", np.array(100_000))
    server = simdask.InferenceServer(store.address, dask_client, claim_idle=1).start()
    outcome: dict[str, object] = {}

    def call() -> None:
        try:
            simdask.Client(store.address).run_script("slow", "slow", ["x", "n"], ["y"], timeout=60)
            outcome["ok"] = True
        except BaseException as exc:  # reported below
            outcome["error"] = exc

    thread = threading.Thread(target=call)
    raw = client.redis()
    try:
        thread.start()
        deadline = time.monotonic() + 30
        while not held_requests(raw):  # a loop is running it
            assert time.monotonic() < deadline and thread.is_alive(), outcome
            time.sleep(0.01)
        raw.close()
        restart(store)  # the caller's wait, the loop's connections and its answer all break
        thread.join(60)
    finally:
        server.stop(timeout=10)
    assert outcome == {"ok": True}, outcome
    assert client.get_tensor("y")[0] == 100_000
