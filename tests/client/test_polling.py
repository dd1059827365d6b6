"""poll_* honour their interval and number of tries."""

from __future__ import annotations

import threading
import time

import numpy as np


def test_poll_tensor_gives_up_after_tries_times_interval(client):
    start = time.monotonic()
    assert client.poll_tensor("never", 30, 4) is False
    elapsed = time.monotonic() - start
    assert elapsed >= 3 * 0.030  # three sleeps between four tries


def test_poll_tensor_returns_at_once_when_present(client):
    client.put_tensor("here", np.ones(1))
    start = time.monotonic()
    assert client.poll_tensor("here", 5000, 10) is True
    assert time.monotonic() - start < 5.0  # no sleep before the first try


def test_poll_sees_a_tensor_written_meanwhile(client, store):
    import simdask

    def writer() -> None:
        time.sleep(0.1)
        with simdask.Client(store.address) as other:
            other.put_tensor("late", np.ones(2))

    thread = threading.Thread(target=writer)
    thread.start()
    assert client.poll_tensor("late", 10, 500)
    thread.join()


def test_poll_key_uses_the_raw_key(client):
    client.put_tensor("raw", np.ones(1))
    assert client.poll_key("raw", 1, 1)
    assert not client.poll_key("raw2", 1, 2)
