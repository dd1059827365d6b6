"""The serving loop's request path (issue 14): the settings and the inputs read in one round trip, settings
decoded once while unchanged, batches equal to single runs, a throwing request failing alone."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from inference_helpers import MLP, onnx_bytes, reference

import simdask


class Picky(torch.nn.Module):
    """Doubles its rows, and throws for any batch that holds a negative value."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool((x < 0).any()):
            raise ValueError("negative input")
        return 2 * x


def concurrently(client: simdask.Client, model: str, inputs: dict[int, np.ndarray]) -> dict[int, object]:
    """Run ``model`` on each input from its own client at once; each caller's output, or the error it got."""
    results: dict[int, object] = {}
    barrier = threading.Barrier(len(inputs))

    def call(i: int) -> None:
        with simdask.Client(client.address) as own:
            own.put_tensor(f"{model}_in{i}", inputs[i])
            barrier.wait()
            try:
                own.run_model(model, [f"{model}_in{i}"], [f"{model}_out{i}"], timeout=60)
                results[i] = own.get_tensor(f"{model}_out{i}")
            except simdask.ModelError as exc:
                results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def runs(client: simdask.Client, model: str) -> int:
    return int(client.redis().hget("simdask:inference:stats", f"runs|model:{model}") or 0)


@pytest.mark.parametrize("backend", ["TORCH", "ONNX"])
def test_batched_results_equal_single_runs_for_every_row_count(serving, backend):
    """Batches of every size up to batch_size (TorchScript runs them without re-specialising per shape)."""
    model = MLP(seed=5).eval()
    blob = torch.jit.script(model) if backend == "TORCH" else onnx_bytes(model)
    serving.set_model("single", blob, backend)
    serving.set_model("joined", blob, backend, batch_size=64, min_batch_size=24, min_batch_timeout=2000)
    rng = np.random.default_rng(6)
    inputs = {i: rng.random((1 + i % 4, 64), dtype=np.float32) for i in range(12)}  # 30 rows: one batch
    joined = concurrently(serving, "joined", inputs)
    for i, x in inputs.items():
        serving.put_tensor("x", x)
        serving.run_model("single", ["x"], ["y"])
        alone = serving.get_tensor("y")
        np.testing.assert_allclose(joined[i], alone, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(alone, reference(model, x), rtol=1e-4, atol=1e-5)
    assert runs(serving, "joined") < len(inputs)
    assert runs(serving, "single") == len(inputs)


def test_a_request_that_makes_the_model_throw_fails_alone(serving):
    serving.set_model(
        "picky", torch.jit.script(Picky()), "TORCH", batch_size=64, min_batch_size=8, min_batch_timeout=2000
    )
    inputs = {i: np.full((1, 4), -1.0 if i == 3 else float(i), np.float32) for i in range(8)}
    results = concurrently(serving, "picky", inputs)
    error = results.pop(3)
    assert isinstance(error, simdask.ModelError) and "model 'picky'" in str(error) and "negative input" in str(error)
    for i, y in results.items():
        np.testing.assert_array_equal(y, 2 * inputs[i])
    assert runs(serving, "picky") > 1  # the batch ran, threw, and its requests ran again one by one


def test_settings_changed_or_stored_again_are_read_again(serving):
    """The loop keeps the decoded settings only while their stored bytes are the same."""
    x = np.ones((2, 64), np.float32)
    serving.put_tensor("x", x)
    first, second = MLP(seed=1).eval(), MLP(seed=2).eval()
    serving.set_model("m", torch.jit.script(first), "TORCH")
    serving.run_model("m", ["x"], ["y"])
    np.testing.assert_allclose(serving.get_tensor("y"), reference(first, x), rtol=1e-5, atol=1e-6)
    serving.set_model("m", torch.jit.script(second), "TORCH", batch_size=8)  # other bytes, other settings
    serving.run_model("m", ["x"], ["y"])
    np.testing.assert_allclose(serving.get_tensor("y"), reference(second, x), rtol=1e-5, atol=1e-6)
    serving.set_model("m", torch.jit.script(first), "TORCH", batch_size=8)  # the same settings as before
    serving.run_model("m", ["x"], ["y"])
    np.testing.assert_allclose(serving.get_tensor("y"), reference(first, x), rtol=1e-5, atol=1e-6)
    serving.delete_model("m")
    with pytest.raises(simdask.ModelError, match="model 'm' does not exist"):
        serving.run_model("m", ["x"], ["y"])


def test_settings_longer_than_one_read_and_chunked_inputs(serving):
    """What the one pipelined read does not hold is read on its own: a long tag, an input in chunks."""
    model = MLP(seed=7).eval()
    serving.set_model("tagged", torch.jit.script(model), "TORCH", tag="t" * 2000, inputs=[f"in{i}" for i in range(50)])
    big = np.random.default_rng(8).random((40_000, 64), dtype=np.float32)  # 10 MB: stored in chunks
    serving.put_tensor("big", big)
    serving.run_model("tagged", ["big"], ["y"])
    np.testing.assert_allclose(serving.get_tensor("y"), reference(model, big), rtol=1e-4, atol=1e-5)
    serving.redis().rpush("a_list", "x")  # a key of another type: its read fails naming it
    with pytest.raises(simdask.ModelError, match=r"model 'tagged'.*'a_list'"):
        serving.run_model("tagged", ["a_list"], ["y"])
