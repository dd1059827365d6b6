"""Run requests go to a serving loop on the caller's node (docs/locality.md, "Inference requests").

Simulated nodes on one machine: ``simdask serve --threads 1`` processes with
``SIMDASK_NODE=n0`` / ``n1``, callers with ``SIMDASK_NODE`` n0, n1 and n2 (a
node without a loop). Which loop answered is read from the loops' own records
(``simdask.inference.stats``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import simdask
from simdask import env
from simdask.inference.stats import loop_records
from simdask.protocol import RunRequest
from simdask.protocol.requests import loop_nodes, new_reply_key, node_stream, run_request

DOUBLE = "def double(x):\n    return 2 * x\n"
SLOW = """
def slow(x):
    y = x
    for i in range(60):
        y = torch.tanh(torch.mm(y, x))
    return y
"""
SIMDASK = Path(sys.executable).with_name("simdask")


def start_serving(
    address: str, name: str, node: str, lease_s: float = 10, claim_idle_s: float = 10
) -> subprocess.Popen:
    """``simdask serve --threads 1`` on simulated node ``node``; its loop is ``<name>-0``."""
    environ = {
        **os.environ,
        env.NODE: node,
        "DASK_SIMDASK__INFERENCE__LOOP_LEASE": str(lease_s),
        "DASK_SIMDASK__INFERENCE__CLAIM_IDLE": str(claim_idle_s),
    }
    command = [str(SIMDASK), "serve", "--threads", "1", "--name", name, "--address", address]
    return subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(check, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def wait_for_nodes(client: simdask.Client, loops: dict[str, str]) -> None:
    """Until each node of ``loops`` (node -> consumer) has that loop's lease."""
    wait_until(
        lambda: all(consumer in loop_nodes(client.session, [node])[node] for node, consumer in loops.items()),
        what=f"the leases of {loops}",
    )


def pending(raw, stream: str) -> int:
    """Requests delivered to a loop and not acknowledged (0 before a loop made the group)."""
    import redis

    try:
        return raw.xpending(stream, "simdask")["pending"]
    except redis.ResponseError:
        return 0


def served(client: simdask.Client, consumers: list[str]) -> dict[str, int]:
    """How many requests each loop answered OK so far."""
    records = loop_records(client.session, consumers)
    return {c: sum(records[c].served.values()) if c in records else 0 for c in consumers}


@pytest.fixture(scope="module", params=["standalone", "cluster"])
def two_nodes(request) -> Iterator[simdask.Client]:
    """A store (standalone, or a 3-shard cluster) with one serving loop on node n0 and one on n1."""
    store = request.getfixturevalue(f"{request.param}_store")
    client = simdask.Client(store.address)
    client.flush()
    client.set_script("double", DOUBLE)
    client.put_tensor("x", np.arange(6, dtype=np.float32).reshape(2, 3))
    loops = [start_serving(store.address, "at-n0", "n0"), start_serving(store.address, "at-n1", "n1")]
    try:
        wait_for_nodes(client, {"n0": "at-n0-0", "n1": "at-n1-0"})
        yield client
    finally:
        for loop in loops:
            stop(loop)


def test_each_request_is_served_by_a_loop_of_its_callers_node(two_nodes, monkeypatch):
    client = two_nodes
    consumers = ["at-n0-0", "at-n1-0"]
    for node, count in (("n0", 3), ("n1", 4)):
        monkeypatch.setenv(env.NODE, node)
        before, sent = served(client, consumers), client.redis().xinfo_stream(node_stream(node))["entries-added"]
        for i in range(count):
            client.run_script("double", "double", ["x"], [f"y-{node}-{i}"], timeout=60)
            np.testing.assert_array_equal(client.get_tensor(f"y-{node}-{i}"), 2 * client.get_tensor("x"))
        after = served(client, consumers)
        assert after[f"at-{node}-0"] - before[f"at-{node}-0"] == count
        assert sum(after.values()) - sum(before.values()) == count  # no other loop answered one of them
        assert client.redis().xinfo_stream(node_stream(node))["entries-added"] - sent == count


def test_a_caller_on_a_node_without_a_loop_is_served_by_another_node(two_nodes, monkeypatch):
    client = two_nodes
    monkeypatch.setenv(env.NODE, "n2")
    before = sum(served(client, ["at-n0-0", "at-n1-0"]).values())
    for i in range(4):
        client.run_script("double", "double", ["x"], [f"y{i}"], timeout=60)
    assert sum(served(client, ["at-n0-0", "at-n1-0"]).values()) - before == 4
    assert client.redis().exists(node_stream("n2")) == 0  # nothing was sent to a node stream without readers


def test_a_caller_that_names_no_node_is_served_as_before(two_nodes):
    """``SUBMIT`` with three keys (a caller before node routing): the main stream, which every loop reads."""
    client = two_nodes
    before = sum(served(client, ["at-n0-0", "at-n1-0"]).values())
    request = RunRequest("script", "double", ("x",), ("y",), new_reply_key(), function="double")
    run_request(client.session, request, timeout=60, node="")
    np.testing.assert_array_equal(client.get_tensor("y"), 2 * client.get_tensor("x"))
    assert sum(served(client, ["at-n0-0", "at-n1-0"]).values()) - before == 1


def test_requests_of_a_node_whose_loops_died_are_served_by_another_node(monkeypatch):
    """n0's only loop is killed while it runs a request, and a second request reaches n0's stream while
    its lease lasts: the loop of n1 claims the first and reads the second once n0's lease has ended."""
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        client.set_script("slow", SLOW)
        client.set_script("double", DOUBLE)
        client.put_tensor("x", np.random.default_rng(0).random((500, 500), dtype=np.float32) / 500)
        doomed = start_serving(store.address, "doomed", "n0", lease_s=3)  # outlives it 3 s at most
        survivor = start_serving(store.address, "survivor", "n1", lease_s=1, claim_idle_s=1)
        try:
            wait_for_nodes(client, {"n0": "doomed-0", "n1": "survivor-0"})
            monkeypatch.setenv(env.NODE, "n0")
            errors: list[BaseException] = []

            def call(kind: str, output: str) -> None:
                try:
                    simdask.Client(store.address).run_script(kind, kind, ["x"], [output], timeout=120)
                except BaseException as exc:  # reported below
                    errors.append(exc)

            slow = threading.Thread(target=call, args=("slow", "y_slow"))
            slow.start()
            raw = client.redis()
            wait_until(lambda: pending(raw, node_stream("n0")) == 1, "n0's loop to take the request")
            doomed.kill()
            doomed.wait()
            call("double", "y_double")  # sent while n0's lease lasts: to n0's stream
            slow.join(timeout=120)
            assert not errors and not slow.is_alive()
            np.testing.assert_allclose(client.get_tensor("y_double"), 2 * client.get_tensor("x"))
            assert client.get_tensor("y_slow").shape == (500, 500)
            assert served(client, ["survivor-0"]) == {"survivor-0": 2}
            assert raw.xinfo_stream(node_stream("n0"))["entries-added"] == 2  # both were sent to n0's stream
            assert loop_nodes(client.session, ["n0"]) == {"n0": []}
        finally:
            stop(doomed)
            stop(survivor)
