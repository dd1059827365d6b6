"""Models and scripts through ``smartredis.Client``, run by a store's own serving loop (``Store(serve=1)``)."""

from __future__ import annotations

import functools
import io
import time

import numpy as np
import pytest
from smartredis.error import RedisKeyError, RedisReplyError, RedisRuntimeError

torch = pytest.importorskip("torch", reason="the model tests need torch (pip install 'simdask[torch]')")


@functools.cache
def doubling_model() -> bytes:
    """TorchScript bytes of y = 2 x (a traced linear layer with fixed weights)."""
    layer = torch.nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(2 * torch.eye(3))
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.trace(layer, torch.zeros(1, 3)), buffer)
    return buffer.getvalue()


def largest(data):
    """TorchScript: the largest element of each row."""
    return data.max(1)[0]


def test_set_get_run_delete_model(served_client):
    model = doubling_model()
    served_client.set_model("double", model, "TORCH", "CPU")
    assert served_client.get_model("double") == model and served_client.model_exists("double")
    served_client.put_tensor("x", np.ones((2, 3), np.float32))
    served_client.run_model("double", inputs=["x"], outputs=["y"])
    np.testing.assert_array_equal(served_client.get_tensor("y"), np.full((2, 3), 2.0, np.float32))
    served_client.run_model("double", "x", "y_str")  # one name as a str, as SmartRedis allows
    assert served_client.poll_tensor("y_str", 10, 5)
    node = served_client.simdask_client.db_addresses()[0]
    (info,) = served_client.get_ai_info([node], "double")
    assert (info["key"], info["type"], info["backend"], info["device"]) == ("double", "MODEL", "TORCH", "CPU")
    served_client.delete_model("double")
    assert not served_client.poll_model("double", 10, 2)


def test_model_from_file(served_client, tmp_path):
    path = tmp_path / "double.pt"
    path.write_bytes(doubling_model())
    served_client.set_model_from_file("double_file", str(path), "torch")  # the backend in any case
    assert served_client.get_model("double_file") == path.read_bytes()
    with pytest.raises(FileNotFoundError):
        served_client.set_model_from_file("missing", str(tmp_path / "nothing.pt"), "TORCH")


def test_functions_and_scripts(served_client, tmp_path):
    served_client.set_function("largest", largest)
    served_client.put_tensor("rows", np.array([[1, 5, 2], [7, 0, 3]]))
    served_client.run_script("largest", "largest", "rows", "peaks")
    assert served_client.get_tensor("peaks").tolist() == [5, 7]
    source = "def twice(x):\n    return x * 2\n"
    served_client.set_script("twice", source)
    assert served_client.get_script("twice") == source
    script_file = tmp_path / "twice.txt"
    script_file.write_text(source)
    served_client.set_script_from_file("twice_file", str(script_file))
    served_client.run_script("twice_file", "twice", ["rows"], ["doubled"])
    assert served_client.get_tensor("doubled").tolist() == [[2, 10, 4], [14, 0, 6]]
    served_client.delete_script("twice_file")
    assert not served_client.model_exists("twice_file")


def test_run_failures_come_back_as_runtime_errors(served_client):
    served_client.set_function("largest", largest)
    served_client.put_tensor("flat", np.arange(3))  # 1-D: max(1) fails inside the script
    with pytest.raises(RedisRuntimeError, match="largest"):
        served_client.run_script("largest", "largest", ["flat"], ["out"])
    with pytest.raises(RedisReplyError, match="no_such_model"):
        served_client.run_model("no_such_model", ["flat"], ["out"])
    with pytest.raises(RedisKeyError):
        served_client.get_script("no_such_script")


def test_run_without_serving_loop_fails_at_once(sr_client):
    sr_client.set_model("double", doubling_model(), "TORCH")
    sr_client.put_tensor("x", np.ones((1, 3), np.float32))
    began = time.monotonic()
    with pytest.raises(RedisRuntimeError, match="serve"):
        sr_client.run_model("double", ["x"], ["y"])
    assert time.monotonic() - began < 5  # bounded: not the 60 s run timeout


def test_model_settings_follow_smartredis_rules(sr_client, peek):
    model = doubling_model()
    for backend in ("TF", "TFLITE"):
        with pytest.raises(TypeError, match="not supported by simdask.*TORCH or ONNX"):
            sr_client.set_model("m", model, backend)
    with pytest.raises(TypeError, match="unsupported"):
        sr_client.set_model("m", model, "CAFFE")
    with pytest.raises(TypeError, match="CPU or GPU"):
        sr_client.set_model("m", model, "TORCH", "TPU")
    with pytest.raises(ValueError, match="only valid for TF"):
        sr_client.set_model("m", model, "TORCH", inputs=["x"])
    for batch in ((0, 0, 5), (0, 1, 0), (4, 0, 5)):
        with pytest.raises(RedisRuntimeError, match="must be non-zero"):
            sr_client.set_model("m", model, "TORCH", "CPU", *batch)
    assert peek.keys() == []


def test_batching_without_timeout_warns(sr_client, capfd):
    sr_client.set_model("m", doubling_model(), "TORCH", "CPU", batch_size=4, min_batch_size=2)
    assert "WARNING" in capfd.readouterr().err


def test_multigpu_variants_store_one_copy_per_gpu(sr_client):
    model = doubling_model()
    sr_client.set_model_multigpu("net", model, "TORCH", 1, 2)
    assert [sr_client.model_exists(f"net.GPU:{gpu}") for gpu in range(4)] == [False, True, True, False]
    sr_client.set_script_multigpu("scr", "def f(x):\n    return x\n", 0, 2)
    assert sr_client.model_exists("scr.GPU:0") and sr_client.model_exists("scr.GPU:1")
    with pytest.raises(ValueError, match="first_gpu"):
        sr_client.run_model_multigpu("net", 0, -1, 2)
    with pytest.raises(ValueError, match="num_gpus"):
        sr_client.set_function_multigpu("f", largest, 0, 0)
    sr_client.put_tensor("x", np.ones((1, 3), np.float32))
    with pytest.raises(RedisRuntimeError, match=r"net\.GPU:2"):  # rank 3 of 2 GPUs from GPU 1: GPU 2
        sr_client.run_model_multigpu("net", 3, 1, 2, ["x"], ["y"])
    sr_client.delete_model_multigpu("net", 1, 2)
    sr_client.delete_script_multigpu("scr", 0, 2)
    assert not any(sr_client.model_exists(name) for name in ("net.GPU:1", "net.GPU:2", "scr.GPU:0"))


def test_model_timeout_variable_is_checked(sr_client, monkeypatch):
    sr_client.set_script("s", "def f(x):\n    return x\n")
    monkeypatch.setenv("SR_MODEL_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="SR_MODEL_TIMEOUT"):
        sr_client.run_script("s", "f", "x", "y")


def test_model_chunk_size_is_accepted(sr_client):
    sr_client.set_model_chunk_size(1024 * 1024)
    with pytest.raises(ValueError):
        sr_client.set_model_chunk_size(0)
    with pytest.raises(TypeError):
        sr_client.set_model_chunk_size("big")
