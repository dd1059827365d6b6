"""run_model / run_script answered by serving loops on a real Dask cluster."""

from __future__ import annotations

import threading
import time

import dask
import numpy as np
import pytest
import torch
from inference_helpers import MLP, onnx_bytes, reference, worker_addresses

import simdask
from simdask.protocol.requests import drop_loops, live_loops, mark_loops_alive

SLOW_SCRIPT = """
def slow(x):
    y = x
    for i in range(20000):
        y = y + 0.0
    return y
"""


def test_torchscript_model_round_trip(serving, mlp):
    client = serving
    client.set_model("mlp", torch.jit.script(mlp), "TORCH")
    x = np.random.default_rng(0).random((5, 64), dtype=np.float32)
    client.put_tensor("x", x)
    client.run_model("mlp", inputs=["x"], outputs=["y"])
    np.testing.assert_allclose(client.get_tensor("y"), reference(mlp, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["onnx", "traced"])
def test_other_model_formats(serving, mlp, backend):
    client = serving
    if backend == "onnx":
        client.set_model("m", onnx_bytes(mlp), "ONNX")
    else:
        client.set_model("m", torch.jit.trace(mlp, torch.zeros(2, 64)), "TORCH")
    x = np.random.default_rng(1).random((3, 64), dtype=np.float32)
    client.put_tensor("m", x)
    client.run_model("m")  # inputs and outputs default to the model's name
    np.testing.assert_allclose(client.get_tensor("m"), reference(mlp, x), rtol=1e-4, atol=1e-5)


def test_scripts_and_functions(serving):
    client = serving
    client.set_script("ops", "def add(a, b):\n    return a + b, a - b\n")
    client.put_tensor("a", np.arange(4.0))
    client.put_tensor("b", np.ones(4))
    client.run_script("ops", "add", ["a", "b"], ["sum", "diff"])
    np.testing.assert_array_equal(client.get_tensor("sum"), np.arange(4.0) + 1)
    np.testing.assert_array_equal(client.get_tensor("diff"), np.arange(4.0) - 1)

    def scale(x):
        return x * 10

    client.set_function("fns", scale)
    client.run_script("fns", "scale", "a", "scaled")
    np.testing.assert_array_equal(client.get_tensor("scaled"), np.arange(4.0) * 10)


def test_every_failure_comes_back_naming_the_model(serving, mlp):
    client = serving
    client.set_model("mlp", torch.jit.script(mlp), "TORCH")
    client.put_tensor("good", np.zeros((1, 64), np.float32))
    client.put_tensor("narrow", np.zeros((1, 3), np.float32))
    client.set_script("ops", "def boom(x):\n    raise RuntimeError('the model exploded')\n")
    cases = [
        (lambda: client.run_model("missing", ["good"], ["y"]), "model 'missing' does not exist"),
        (lambda: client.run_model("mlp", ["narrow"], ["y"]), r"model 'mlp'.*(shapes|size|mat1)"),
        (lambda: client.run_model("mlp", ["good", "good"], ["y"]), r"model 'mlp'.*(argument|expected|positional)"),
        (lambda: client.run_model("mlp", ["absent"], ["y"]), r"model 'mlp'.*'absent' does not exist"),
        (lambda: client.run_model("mlp", ["good"], ["y", "z"]), "gave 1 outputs; the request names 2"),
        (lambda: client.run_script("ops", "boom", ["good"], ["y"]), "script 'ops' function 'boom'.*the model exploded"),
        (lambda: client.run_script("ops", "nothing", ["good"], ["y"]), "no function 'nothing'"),
    ]
    for call, message in cases:
        with pytest.raises(simdask.ModelError, match=message):
            call()
    client.run_model("mlp", ["good"], ["y"])  # the service is still serving
    assert client.tensor_exists("y")


def test_concurrent_callers_are_batched_and_each_gets_its_own_rows(serving, standalone_store):
    model = MLP(seed=3).eval()
    serving.set_model(
        "batched", torch.jit.script(model), "TORCH", batch_size=64, min_batch_size=16, min_batch_timeout=200
    )
    callers = 16
    results: dict[int, np.ndarray] = {}
    inputs = {i: np.full((2, 64), i / callers, dtype=np.float32) for i in range(callers)}
    errors: list[BaseException] = []
    barrier = threading.Barrier(callers)

    def call(i: int) -> None:
        try:
            with simdask.Client(standalone_store.address) as own:
                own.put_tensor(f"in{i}", inputs[i])
                barrier.wait()
                own.run_model("batched", [f"in{i}"], [f"out{i}"])
                results[i] = own.get_tensor(f"out{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(callers):
        np.testing.assert_allclose(results[i], reference(model, inputs[i]), rtol=1e-5, atol=1e-6)
    stats = serving.redis().hgetall("simdask:inference:stats")
    runs = int(stats[b"runs|model:batched"])
    assert runs < callers  # requests landed in fewer model runs than there were callers


def test_min_batch_size_without_timeout_never_hangs(serving, mlp):
    serving.set_model("waits", torch.jit.script(mlp), "TORCH", batch_size=32, min_batch_size=32)
    serving.put_tensor("x", np.zeros((1, 64), np.float32))
    serving.run_model("waits", ["x"], ["y"], timeout=20)  # a default min_batch_timeout applies
    assert serving.get_tensor("y").shape == (1, 64)


def test_a_new_model_version_is_picked_up(serving):
    x = np.ones((1, 64), np.float32)
    serving.put_tensor("x", x)
    for version, scale in ((1, 1.0), (2, 3.0)):
        model = MLP(scale=scale).eval()
        assert serving.set_model("versioned", torch.jit.script(model), "TORCH") == version
        serving.run_model("versioned", ["x"], ["y"])
        np.testing.assert_allclose(serving.get_tensor("y"), reference(model, x), rtol=1e-5, atol=1e-6)


def test_gpu_models_run_on_the_gpu_worker(serving, dask_client, mlp):
    serving.set_model("on_gpu", torch.jit.script(mlp), "TORCH", device="GPU")
    serving.set_model("on_cpu", torch.jit.script(mlp), "TORCH")
    serving.put_tensor("x", np.zeros((1, 64), np.float32))
    for _ in range(5):
        serving.run_model("on_gpu", ["x"], ["y"])
        serving.run_model("on_cpu", ["x"], ["y"])
    stats = {k.decode(): int(v) for k, v in serving.redis().hgetall("simdask:inference:stats").items()}
    gpu_worker = worker_addresses(dask_client)["gpu"]
    served_gpu = {k: v for k, v in stats.items() if k.startswith("model:on_gpu|")}
    assert served_gpu and all(k.endswith(gpu_worker) for k in served_gpu)  # only the GPU-tagged worker ran it
    assert sum(v for k, v in stats.items() if k.startswith("model:on_cpu|")) == 5


def test_predict_over_dask_chunks(serving, dask_client, mlp):
    import dask.array as da
    import xarray as xr

    serving.set_model("mlp", torch.jit.script(mlp), "TORCH")
    x = np.random.default_rng(4).random((40, 64), dtype=np.float32)
    lazy = simdask.predict(da.from_array(x, chunks=(10, 64)), "mlp", serving.address)
    assert lazy.chunks == ((10, 10, 10, 10), (64,))
    np.testing.assert_allclose(lazy.compute(), reference(mlp, x), rtol=1e-5, atol=1e-6)
    field = xr.DataArray(
        da.from_array(x, chunks=(20, 64)), dims=("sample", "feature"), coords={"sample": np.arange(40)}
    )
    predicted = simdask.predict(field, "mlp", serving.address)
    assert predicted.dims == ("sample", "mlp_dim_0") and predicted.sample.values[-1] == 39
    np.testing.assert_allclose(predicted.values, reference(mlp, x), rtol=1e-5, atol=1e-6)


def test_no_serving_loop_is_an_answer_that_says_what_to_start(mlp):
    """Not a wait for the timeout: the store answers the request itself, and nothing is queued."""
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        client.set_model("mlp", torch.jit.script(mlp), "TORCH")
        client.put_tensor("x", np.zeros((1, 64), np.float32))
        message = rf"no inference service is serving the store at {store.address}.*`simdask serve`"
        for label, run in (
            ("model 'mlp'", lambda: client.run_model("mlp", ["x"], ["y"], timeout=30)),
            ("script 'mlp' function 'f'", lambda: client.run_script("mlp", "f", ["x"], ["y"], timeout=30)),
        ):
            with pytest.raises(simdask.ModelError, match=f"{label}: {message}") as info:
                run()
            assert not isinstance(info.value, simdask.ModelTimeoutError)
        assert not client.redis().exists("simdask:requests")


def test_timeout_when_a_serving_loop_is_alive_but_does_not_answer(mlp):
    with simdask.Store() as store:
        client = simdask.Client(store.address)
        client.set_model("mlp", torch.jit.script(mlp), "TORCH")
        client.put_tensor("x", np.zeros((1, 64), np.float32))
        mark_loops_alive(client.session, ["silent"], 60_000)  # a loop's lease, and no loop
        with pytest.raises(simdask.ModelTimeoutError, match="model 'mlp': no answer within 0.5 s") as info:
            client.run_model("mlp", ["x"], ["y"], timeout=0.5)
        assert isinstance(info.value, TimeoutError)
        assert client.redis().xlen("simdask:requests") == 1
        drop_loops(client.session, ["silent"])
        assert live_loops(client.session) == []
        with pytest.raises(simdask.ModelError, match="no inference service"):
            client.run_model("mlp", ["x"], ["y"], timeout=30)


def test_a_loop_holds_its_lease_while_it_runs_and_ends_it_when_stopped(dask_client):
    """InferenceServer.start() begins the leases (requests sent at once wait for the loops); the loops renew
    them (the lease outlives its first term) and end them when stopped."""
    with simdask.Store() as store, dask.config.set({"simdask.inference.loop-lease": 2}):
        client = simdask.Client(store.address)
        client.set_script("twice", "def twice(x):\n    return 2 * x\n")
        client.put_tensor("x", np.ones(2, np.float32))
        server = simdask.InferenceServer(store.address, dask_client, name="leased").start()
        try:
            assert live_loops(client.session) == server.consumers
            client.run_script("twice", "twice", ["x"], ["y"], timeout=60)
            time.sleep(2.5)  # past the first lease: renewed by the loops
            assert live_loops(client.session) == server.consumers
        finally:
            server.stop()
        assert live_loops(client.session) == []
