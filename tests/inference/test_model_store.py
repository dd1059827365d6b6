"""Models and scripts stored by name: set/get/exists/delete, formats, versions, bad input."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from inference_helpers import MLP, onnx_bytes

import simdask


def test_torchscript_module_and_bytes(client, mlp):
    scripted = torch.jit.script(mlp)
    assert client.set_model("mlp", scripted, "TORCH", batch_size=8, tag="v1", inputs=["x"], outputs=["y"]) == 1
    spec = client.get_model_spec("mlp")
    assert (spec.backend, spec.format, spec.device, spec.batch_size, spec.tag, spec.inputs, spec.version) == (
        "TORCH",
        "torchscript",
        "CPU",
        8,
        "v1",
        ("x",),
        1,
    )
    blob = client.get_model("mlp")
    assert blob[:2] == b"PK"  # a TorchScript zip archive
    assert client.set_model("mlp", blob, "torch") == 2  # bytes, lower-case backend; the version goes up
    assert client.model_exists("mlp") and not client.model_exists("other")
    client.delete_model("mlp")
    assert not client.model_exists("mlp")
    with pytest.raises(KeyError, match="model 'mlp' does not exist"):
        client.delete_model("mlp")
    with pytest.raises(KeyError, match="model 'mlp' does not exist"):
        client.get_model("mlp")


def test_torch_export_is_refused_and_onnx_stored(client, mlp):
    import io

    program = torch.export.export(mlp, (torch.zeros(2, 64),), dynamic_shapes={"x": {0: torch.export.Dim("b")}})
    pt2 = io.BytesIO()
    torch.export.save(program, pt2)
    for model in (program, pt2.getvalue()):  # loading a .pt2 unpickles: refused, naming what to use instead
        with pytest.raises(simdask.ModelError, match="torch.export programs .* refused.*TorchScript.*ONNX"):
            client.set_model("exported", model, "TORCH")
    assert not client.model_exists("exported")
    raw = onnx_bytes(mlp)
    client.set_model("onnx_bytes", raw, "ONNX")
    client.set_model("onnx_proto", onnx.load_from_string(raw), "ONNX", device="gpu:1")
    spec = client.get_model_spec("onnx_proto")
    assert (spec.format, spec.device, spec.on_gpu, spec.gpu_index) == ("onnx", "GPU:1", True, 1)
    assert client.get_model("onnx_bytes") == raw


def test_large_models_are_chunked_like_tensors(small_chunks_client, mlp):
    small_chunks_client.set_model("mlp", torch.jit.script(mlp), "TORCH")
    assert any(k.startswith("simdask:chunk:{mlp}") for k in small_chunks_client.keys())
    assert small_chunks_client.get_model("mlp")[:2] == b"PK"


def test_scripts_and_functions(client):
    source = "def double(x):\n    return x * 2\n"
    assert client.set_script("ops", source) == 1
    assert client.get_script("ops") == source
    assert client.model_exists("ops")

    def triple(x):
        return x * 3

    client.set_function("fn", triple, device="GPU")
    assert "return x * 3" in client.get_script("fn")
    client.delete_script("fn")
    assert not client.model_exists("fn")


def test_model_names_can_carry_the_ensemble_prefix(store, monkeypatch, mlp):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "member0")
    client = simdask.Client(store.address)
    client.flush()
    client.set_model("shared", torch.jit.script(mlp), "TORCH")
    client.use_model_ensemble_prefix(True)
    client.set_model("own", torch.jit.script(mlp), "TORCH")
    keys = set(client.keys("simdask:model:*"))
    assert keys == {"simdask:model:{shared}", "simdask:model:{member0.own}"}


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda c, m: c.set_model("m", m, "TF"), ValueError, "backend must be 'TORCH' or 'ONNX'"),
        (lambda c, m: c.set_model("m", torch.jit.script(m), "TORCH", device="TPU"), ValueError, "device must be"),
        (lambda c, m: c.set_model("m", m, "TORCH"), TypeError, "plain torch.nn.Module cannot be stored"),
        (lambda c, m: c.set_model("m", b"", "TORCH"), ValueError, "empty"),
        (lambda c, m: c.set_model("m", b"not a zip", "TORCH"), ValueError, "not"),
        (lambda c, m: c.set_model("m", m, "ONNX"), TypeError, "onnx.ModelProto"),
        (
            lambda c, m: c.set_model("m", torch.jit.script(m), "TORCH", batch_size=2, min_batch_size=4),
            ValueError,
            "exceeds batch_size",
        ),
        (lambda c, m: c.set_model("m", torch.jit.script(m), "TORCH", batch_size=-1), ValueError, "batch_size"),
        (lambda c, m: c.set_script("s", "   "), ValueError, "non-empty"),
        (lambda c, m: c.set_model_from_file("m", "/no/such/file.pt", "TORCH"), FileNotFoundError, "does not exist"),
        (lambda c, m: c.run_model("m", timeout=0), ValueError, "timeout"),
    ],
)
def test_bad_models_are_refused_before_anything_is_stored(client, mlp, call, error, message):
    with pytest.raises(error, match=message):
        call(client, mlp)
    assert client.keys("simdask:model:*") == []


def test_a_tensor_is_not_a_model(client, raw):
    client.put_tensor("x", np.ones(3))
    raw.rename("x", "simdask:model:{x}")
    with pytest.raises(simdask.ModelError, match="holds a tensor, not a simdask model"):
        client.get_model_spec("x")


def test_set_model_from_file(client, tmp_path):
    path = tmp_path / "mlp.pt"
    torch.jit.save(torch.jit.script(MLP()), str(path))
    client.set_model_from_file("mlp", path, "TORCH", batch_size=4)
    assert client.get_model_spec("mlp").batch_size == 4
    assert client.get_model("mlp") == path.read_bytes()
