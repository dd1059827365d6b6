"""The serving loop's read-ahead (inputs and settings read behind its blocking read, issue 14): never a stale
value, right in a cluster and in batches; the answers' records all there once the server stopped.

A loop runs in this process, driven one step at a time (its read, then its dispatch), against a real store;
callers are threads calling ``run_model``, each waiting until its request is in the stream before the next
one is sent, so that the loop reads them together and in a known order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from inference_helpers import MLP, reference

import simdask
from simdask.inference.loop import LoopSettings, ServingLoop, ensure_groups
from simdask.inference.readahead import ReadAhead
from simdask.inference.stats import latency_summaries, loop_records
from simdask.locality import node_name
from simdask.protocol import RunRequest
from simdask.protocol.requests import REQUEST_STREAM, node_stream

STEP_TIMEOUT_S = 30


def queued(client: simdask.Client) -> int:
    """Requests in this node's stream, where a caller on this node sends them."""
    return int(client.session.transport.execute(REQUEST_STREAM, "XLEN", node_stream(node_name())))


@contextmanager
def manual_loop(client: simdask.Client, consumer: str) -> Iterator[ServingLoop]:
    """A serving loop holding its lease (callers are served) that the test drives itself."""
    loop = ServingLoop(client, LoopSettings(server_id=f"manual-{consumer}", consumer=consumer, read_count=64))
    ensure_groups(client.session, loop.node)
    with loop._lease:
        yield loop


class Callers:
    """``run_model`` calls in threads, sent one after the other into the stream."""

    def __init__(self, client: simdask.Client) -> None:
        self.client = client
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def send(self, model: str, inputs: list[str], outputs: list[str]) -> None:
        before = queued(self.client)

        def call() -> None:
            try:
                with simdask.Client(self.client.session.address) as own:
                    own.run_model(model, inputs, outputs, timeout=STEP_TIMEOUT_S)
            except BaseException as exc:  # reported by wait()
                self.errors.append(exc)

        thread = threading.Thread(target=call)
        thread.start()
        self.threads.append(thread)
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while queued(self.client) == before:
            assert time.monotonic() < deadline and not self.errors, f"request for {model} never queued: {self.errors}"
            time.sleep(0.005)

    def wait(self) -> None:
        for thread in self.threads:
            thread.join(STEP_TIMEOUT_S)
        assert not any(t.is_alive() for t in self.threads), "a caller was never answered"
        assert not self.errors, self.errors
        self.threads = []


def serve_once(loop: ServingLoop, block_ms: int = 1000) -> int:
    """One read (with what is read ahead) and its dispatch; returns how many requests it served."""
    requests = loop._read(block_ms)
    loop.dispatch(requests)
    return len(requests)


@pytest.fixture(autouse=True)
def patient(monkeypatch):
    """Read ahead however slowly a busy machine runs the test's steps."""
    monkeypatch.setattr("simdask.inference.readahead.IDLE_S", 600.0)


@pytest.fixture
def fresh(standalone_store, monkeypatch):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    client = simdask.Client(standalone_store.address)
    client.flush()
    return client


def test_an_input_rewritten_between_two_requests_is_read_anew(fresh, mlp):
    fresh.set_model("mlp", torch.jit.script(mlp), "TORCH")
    callers = Callers(fresh)
    old, new = (np.full((1, 64), v, np.float32) for v in (1.0, -2.0))
    with manual_loop(fresh, "ahead-1") as loop:
        fresh.put_tensor("x", old)
        callers.send("mlp", ["x"], ["y"])
        assert serve_once(loop) == 1
        callers.wait()
        assert ("GET", "x") in loop._ahead.commands()  # the next read reads x behind it
        assert serve_once(loop, block_ms=10) == 0  # a block with no request: what it read is dropped
        assert loop._ahead.inputs(RunRequest("model", "mlp", ("x",), ("y",), "r")) == {}
        fresh.put_tensor("x", new)
        callers.send("mlp", ["x"], ["y"])
        requests = loop._read(1000)
        assert [r.inputs for r in requests] == [("x",)] and list(loop._ahead.inputs(requests[0])) == ["x"]
        loop.dispatch(requests)
        callers.wait()
    np.testing.assert_allclose(fresh.get_tensor("y"), reference(mlp, new), rtol=1e-5, atol=1e-6)


def test_a_later_request_of_the_same_read_sees_what_an_earlier_one_wrote(fresh, mlp):
    """Unbatched requests run one by one: the second reads the first one's output, not the value read ahead."""
    fresh.set_model("mlp", torch.jit.script(mlp), "TORCH")
    callers = Callers(fresh)
    x0 = np.random.default_rng(1).random((1, 64), dtype=np.float32)
    fresh.put_tensor("x", x0)
    with manual_loop(fresh, "ahead-2") as loop:
        callers.send("mlp", ["x"], ["warm"])
        serve_once(loop)
        callers.wait()
        callers.send("mlp", ["x"], ["x"])  # in place
        callers.send("mlp", ["x"], ["z"])
        assert serve_once(loop) == 2
        callers.wait()
    np.testing.assert_allclose(fresh.get_tensor("z"), reference(mlp, reference(mlp, x0)), rtol=1e-4, atol=1e-5)


def test_a_batch_of_mixed_keys_gets_every_callers_new_values(fresh, mlp):
    fresh.set_model("batched", torch.jit.script(mlp), "TORCH", batch_size=64)
    callers = Callers(fresh)
    rng = np.random.default_rng(2)
    with manual_loop(fresh, "ahead-3") as loop:
        fresh.put_tensor("b", rng.random((1, 64), dtype=np.float32))
        callers.send("batched", ["b"], ["out-b"])
        serve_once(loop)
        callers.wait()  # b is read ahead from now on
        values = {key: rng.random((1 + i, 64), dtype=np.float32) for i, key in enumerate("abc")}
        for key, value in values.items():
            fresh.put_tensor(key, value)
            callers.send("batched", [key], [f"out-{key}"])
        assert serve_once(loop) == 3
        callers.wait()
        runs = int(fresh.redis().hget("simdask:inference:stats", "runs|model:batched"))
    assert runs == 2  # the three ran as one batch
    for key, value in values.items():
        np.testing.assert_allclose(fresh.get_tensor(f"out-{key}"), reference(mlp, value), rtol=1e-5, atol=1e-6)


def test_a_changed_model_is_loaded_although_its_settings_were_read_ahead(fresh):
    x = np.ones((1, 64), np.float32)
    fresh.put_tensor("x", x)
    callers = Callers(fresh)
    with manual_loop(fresh, "ahead-4") as loop:
        for scale in (1.0, 3.0):
            model = MLP(scale=scale).eval()
            fresh.set_model("versioned", torch.jit.script(model), "TORCH")
            callers.send("versioned", ["x"], ["y"])
            serve_once(loop)
            callers.wait()
            np.testing.assert_allclose(fresh.get_tensor("y"), reference(model, x), rtol=1e-5, atol=1e-6)


def test_in_a_cluster_only_keys_on_the_streams_node_are_read_ahead(cluster_store, mlp, monkeypatch):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    client = simdask.Client(cluster_store.address)
    client.flush()
    transport = client.session.transport
    home = transport.node_for(REQUEST_STREAM)
    near = next(f"near{i}" for i in range(1000) if transport.node_for(f"near{i}") == home)
    far = next(f"far{i}" for i in range(1000) if transport.node_for(f"far{i}") != home)
    client.set_model("two", torch.jit.script(mlp), "TORCH")  # one input: each call names one key
    callers = Callers(client)
    rng = np.random.default_rng(3)
    with manual_loop(client, "ahead-5") as loop:
        for key in (near, far):
            for _ in range(2):  # the second call finds the key read ahead when it can be
                value = rng.random((1, 64), dtype=np.float32)
                client.put_tensor(key, value)
                callers.send("two", [key], [f"out-{key}"])
                requests = loop._read(1000)
                ahead = loop._ahead.inputs(requests[0])
                loop.dispatch(requests)
                callers.wait()
                np.testing.assert_allclose(client.get_tensor(f"out-{key}"), reference(mlp, value), rtol=1e-5, atol=1e-6)
            assert list(ahead) == ([near] if key == near else [])
        assert all(c[0] != "GET" or transport.node_for(c[1]) == home for c in loop._ahead.commands())


def test_an_idle_loop_reads_nothing_ahead(standalone_store, monkeypatch):
    ahead = ReadAhead(simdask.Client(standalone_store.address).session.transport)
    assert ahead.commands() == []  # nothing served yet
    monkeypatch.setattr("simdask.inference.readahead.IDLE_S", -1.0)
    ahead.plan(RunRequest("model", "m", ("x",), ("y",), "r"), [np.zeros(4)])
    assert ahead.commands() == []  # served longer than IDLE_S ago
    monkeypatch.setattr("simdask.inference.readahead.IDLE_S", 60.0)
    assert ahead.commands() == [("GETRANGE", "simdask:model:{m}", 0, 511), ("GET", "x")]
    ahead.plan(RunRequest("model", "m", ("x",), ("y",), "r"), [np.zeros(1 << 20, np.uint8)])
    assert ahead.commands() == [("GETRANGE", "simdask:model:{m}", 0, 511)]  # inputs over MAX_BYTES are not


def test_settings_read_ahead_serve_only_the_model_they_were_read_for(standalone_store):
    """Read ahead for model a; the read brings two requests for b: b's settings are never a's bytes, also
    once b was served (and is the model read ahead next time)."""
    ahead = ReadAhead(simdask.Client(standalone_store.address).session.transport)
    ahead.plan(RunRequest("model", "a", ("x",), ("y",), "r"), [np.zeros(4)])
    commands = ahead.commands()
    first, second = (RunRequest("model", "b", ("x",), ("y",), "r", entry_id=f"1-{i}") for i in range(2))
    ahead.take(commands, [b"settings of a", np.zeros(4, np.uint8)], [first, second])
    assert ahead.settings("model", "b", [first]) is None
    ahead.plan(first, [np.zeros(4)])  # b served: the next read reads b ahead
    assert ahead.settings("model", "b", [second]) is None
    assert list(ahead.inputs(second)) == ["x"]  # the input read ahead is the same key, whatever the model


def test_every_answer_is_recorded_and_deleted_from_the_stream_by_stop(fresh, dask_client, mlp):
    fresh.set_model("booked", torch.jit.script(mlp), "TORCH")
    fresh.put_tensor("x", np.ones((1, 64), np.float32))
    server = simdask.InferenceServer(fresh.session.address, dask_client, name="booked-server").start()
    try:
        for _ in range(5):
            fresh.run_model("booked", ["x"], ["y"])
    finally:
        results = server.stop()
    assert sum(r["served"] for r in results) == 5
    records = loop_records(fresh.session, [r["consumer"] for r in results])
    assert sum(n for record in records.values() for n in record.served.values()) == 5
    assert latency_summaries(fresh.session, ["model:booked"])["model:booked"].count == 5
    raw = fresh.redis()
    assert all(raw.xlen(s) == 0 for s in (REQUEST_STREAM, node_stream(node_name())))  # answered ones deleted
