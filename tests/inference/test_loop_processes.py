"""Serving loops in their own processes: one killed mid-request, one without a backend."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch
from inference_helpers import MLP, onnx_bytes

import simdask
from simdask.locality import node_name
from simdask.protocol.requests import live_loops, node_stream

SLOW = """
def slow(x):
    y = x
    for i in range(40):
        y = torch.tanh(torch.mm(y, x))
    return y
"""

LOOP = """
import sys
if "--no-onnx" in sys.argv:
    sys.modules["onnxruntime"] = None  # a worker where onnxruntime is not installed
import simdask
from simdask.inference.loop import LoopSettings, ServingLoop
ServingLoop(simdask.Client(sys.argv[1]), LoopSettings(server_id=sys.argv[2], consumer=sys.argv[2] + "-0",
                                                      claim_idle_ms=3_600_000)).run()
"""
#: Where this test's requests go: the loops run on the callers' node (docs/protocol.md, "Run requests").
STREAM = node_stream(node_name())


def start_loop(address: str, name: str, *flags: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", LOOP, address, name, *flags])


def pending(raw) -> int:
    """Requests delivered to a serving loop and not yet acknowledged (0 before any loop made the group)."""
    import redis

    try:
        return raw.xpending(STREAM, "simdask")["pending"]
    except redis.ResponseError:
        return 0


def wait_for_lease(client: simdask.Client, consumer: str) -> None:
    """A run request fails at once while no serving loop is alive: wait for the loop process's lease."""
    wait_until(lambda: consumer in live_loops(client.session), what=f"the lease of {consumer}")


def wait_until(check, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_requests_held_by_a_killed_loop_are_answered_by_another(dask_client):
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        raw = client.redis()
        client.set_script("slow", SLOW)
        x = np.random.default_rng(0).random((600, 600), dtype=np.float32) / 600
        client.put_tensor("x", x)
        doomed = start_loop(store.address, "doomed")
        wait_for_lease(client, "doomed-0")
        outcome: dict[str, object] = {}

        def caller() -> None:
            try:
                simdask.Client(store.address).run_script("slow", "slow", ["x"], ["y"], timeout=120)
                outcome["ok"] = True
            except BaseException as exc:  # reported below
                outcome["error"] = exc

        thread = threading.Thread(target=caller)
        thread.start()
        try:
            wait_until(lambda: pending(raw) == 1, what="the doomed loop to take the request")
            assert raw.xpending(STREAM, "simdask")["consumers"][0]["name"] == b"doomed-0"
        finally:
            doomed.kill()
            doomed.wait()
        server = simdask.InferenceServer(store.address, dask_client, claim_idle=1).start()
        try:
            thread.join(120)
        finally:
            server.stop()
        assert outcome == {"ok": True}
        with torch.no_grad():
            expected = torch.from_numpy(x)
            for _ in range(40):
                expected = torch.tanh(expected @ torch.from_numpy(x))
        np.testing.assert_allclose(client.get_tensor("y"), expected.numpy(), rtol=1e-4, atol=1e-6)
        assert pending(raw) == 0


def test_a_backend_that_is_not_installed_is_reported():
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        client.set_model("onnx_mlp", onnx_bytes(MLP().eval()), "ONNX")
        client.put_tensor("x", np.zeros((1, 64), np.float32))
        loop = start_loop(store.address, "no-onnx", "--no-onnx")
        try:
            wait_for_lease(client, "no-onnx-0")
            message = r"model 'onnx_mlp'.*ONNX backend.*not installed.*simdask\[onnx\]"
            with pytest.raises(simdask.ModelError, match=message):
                client.run_model("onnx_mlp", ["x"], ["y"], timeout=60)
        finally:
            loop.kill()
            loop.wait()
