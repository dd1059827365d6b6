"""A frozen store (SIGSTOP: it accepts connections and answers nothing): every call ends within its own
time limit with a timeout error, and the same client works again once the store runs (SIGCONT)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fault_helpers import MARGIN_S, frozen, within

import simdask
from simdask.protocol.requests import mark_loops_alive


@pytest.fixture
def client(own_store):
    with simdask.Client(own_store.address) as client:
        client.put_tensor("u.0", np.arange(3.0))
        yield client


def test_connecting_takes_at_most_the_connect_timeout(own_store, monkeypatch):
    with frozen(own_store):
        with within(1), pytest.raises(simdask.StoreTimeoutError, match=own_store.address):
            simdask.Client(own_store.address, connect_timeout=1)
        monkeypatch.setenv("SIMDASK_CONNECT_TIMEOUT", "1")
        with within(1), pytest.raises(simdask.StoreTimeoutError):
            simdask.Client(own_store.address)
    assert simdask.Client(own_store.address, connect_timeout=1).tensor_exists("nothing") is False


def test_each_read_takes_at_most_the_io_timeout(own_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_IO_TIMEOUT", "1")
    client = simdask.Client(own_store.address)
    client.put_tensor("u", np.ones(4))
    with frozen(own_store):
        with within(1), pytest.raises(simdask.StoreTimeoutError, match=f"{own_store.address} did not answer"):
            client.get_tensor("u")
        with within(1), pytest.raises(simdask.StoreTimeoutError):
            client.put_tensor("v", np.ones(4))
    np.testing.assert_array_equal(client.get_tensor("u"), np.ones(4))  # the same client, after SIGCONT


POLLS = {
    "tensor": lambda c, tries: c.poll_tensor("absent", 100, tries),
    "key": lambda c, tries: c.poll_key("absent", 100, tries),
    "dataset": lambda c, tries: c.poll_dataset("absent", 100, tries),
    "list_length": lambda c, tries: c.poll_list_length("absent", 3, 100, tries),
    "model": lambda c, tries: c.poll_model("absent", 100, tries),
}


def test_polls_end_within_their_tries(client, own_store):
    outcomes: dict[str, object] = {}

    def call(name: str) -> None:  # each poll in its own thread, all during one freeze
        started = time.monotonic()
        try:
            POLLS[name](client, 12)  # 12 tries 100 ms apart: 1.2 s
            outcomes[name] = "returned"
        except BaseException as exc:  # checked below
            outcomes[name] = exc
        outcomes[name + " took"] = time.monotonic() - started

    with frozen(own_store):
        threads = [threading.Thread(target=call, args=(name,)) for name in POLLS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    for name in POLLS:
        assert isinstance(outcomes[name], simdask.StoreTimeoutError), (name, outcomes[name])
        assert outcomes[name + " took"] <= 1.2 + MARGIN_S, (name, outcomes[name + " took"])
        assert POLLS[name](client, 1) is False  # the store answers again: nothing there


def test_watch_ends_within_its_timeout(client, own_store):
    stream = simdask.watch("u.{step:d}", client, timeout=1.5, interval=0.05)
    with frozen(own_store):
        with within(1.5), pytest.raises(simdask.WatchTimeoutError, match="did not answer"):
            next(stream)
    client.put_tensor("u.1", np.arange(3.0))
    client.put_tensor(simdask.END_OF_RUN, np.array(2))
    steps = [int(ds.step[0]) for ds in simdask.watch("u.{step:d}", client, timeout=5, interval=0.05)]
    assert steps == [0, 1]


def test_run_model_ends_within_its_timeout(client, own_store):
    with frozen(own_store):
        with within(1.5), pytest.raises(simdask.ModelTimeoutError, match="model 'mlp'.*no answer within 1.5 s"):
            client.run_model("mlp", ["u.0"], ["y"], timeout=1.5)
    with within(1), pytest.raises(simdask.ModelError, match="no inference service") as info:  # nobody serves
        client.run_model("mlp", ["u.0"], ["y"], timeout=30)
    assert not isinstance(info.value, simdask.ModelTimeoutError)  # answered at once, not timed out


def test_run_timeout_comes_from_the_environment(own_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_RUN_TIMEOUT", "1")
    client = simdask.Client(own_store.address)
    mark_loops_alive(client.session, ["silent"], 60_000)  # a serving loop's lease, and no loop: no answer
    with within(1.5), pytest.raises(simdask.ModelTimeoutError, match="no answer within 1 s"):
        client.run_model("nobody_serves", ["x"], ["y"])
