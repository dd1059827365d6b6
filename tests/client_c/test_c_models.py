"""The C client's stored models and scripts (c_models.c): stored as the Python client stores them (Python's
get_model / get_model_spec / get_script read them), refused as Python refuses them, run by the real inference
service, and misuse answered with SD_ERR_ARG instead of a crash; its copies and renames of tensors."""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from simdask_tests_native import native_env, run_program, store_keys

from simdask.errors import KeyNotFoundError, ModelError
from simdask.protocol.models import blob_format, read_blob


def run_c(native, address: str, *args: object) -> dict[str, str]:
    """Runs c_models with ``args``; its ``STATUS``/``MESSAGE`` lines as {"status", "version", "message"}."""
    proc = run_program([native.c_tests.parent / "c_models", *map(str, args)], native_env(address))
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    status, version = lines["STATUS"].split()
    return {"status": status, "version": version, "message": lines["MESSAGE"]}


def doubling_model(path: Path, buffer_floats: int = 0) -> bytes:
    """A TorchScript file whose model returns 2 x (with a buffer of ``buffer_floats`` zeros: a large file)."""
    torch = pytest.importorskip("torch")

    class Double(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("weights", torch.zeros(buffer_floats))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    torch.jit.save(torch.jit.script(Double()), str(path))
    return path.read_bytes()


def zip_of(*names: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, b"x")
    return out.getvalue()


def test_a_model_file_stored_from_c_is_what_python_stores(native_c, store_client, c_store, tmp_path):
    blob = doubling_model(tmp_path / "double.pt")
    settings = ("cpu", 8, 2, 50, "v1")
    got = run_c(native_c, c_store.address, "model", "c_double", tmp_path / "double.pt", "torch", *settings)
    assert got == {"status": "SD_OK", "version": "1", "message": ""}
    assert store_client.get_model("c_double") == blob
    spec = store_client.get_model_spec("c_double")
    assert (spec.kind, spec.name, spec.backend, spec.format, spec.device) == (
        "model",
        "c_double",
        "TORCH",
        "torchscript",
        "CPU",
    )
    assert (spec.batch_size, spec.min_batch_size, spec.min_batch_timeout, spec.tag) == (8, 2, 50, "v1")
    assert (spec.inputs, spec.outputs, spec.version, list(spec.extra)) == (("x",), ("y",), 1, ["stored"])
    assert re.fullmatch("[0-9a-f]{32}", spec.extra["stored"])  # this store's id (protocol.md, "Run requests")
    # the same file and settings stored by Python give the same record
    store_client.set_model_from_file(
        "py_double", tmp_path / "double.pt", "TORCH", "CPU", batch_size=8, min_batch_size=2, min_batch_timeout=50,
        tag="v1", inputs=["x"], outputs=["y"],
    )  # fmt: skip
    python_spec = store_client.get_model_spec("py_double")
    assert python_spec.extra["stored"] != spec.extra["stored"]  # each store its own id
    assert python_spec == replace(spec, name="py_double", extra=python_spec.extra)
    # storing again bumps the version
    again = run_c(native_c, c_store.address, "model", "c_double", tmp_path / "double.pt", "TORCH", *settings)
    assert again["version"] == "2" and store_client.get_model_spec("c_double").version == 2


def test_a_large_model_is_chunked_and_its_chunks_replaced_and_deleted(native_c, store_client, c_store, tmp_path):
    blob = doubling_model(tmp_path / "big.pt", buffer_floats=3_000_000)  # 12 MB: above the 8 MiB threshold
    chunks = math.ceil(len(blob) / (4 << 20))
    for version in ("1", "2"):
        got = run_c(native_c, c_store.address, "model", "c_big", tmp_path / "big.pt", "TORCH", "GPU:1", 0, 0, 0, "")
        assert (got["status"], got["version"]) == ("SD_OK", version)
        assert len(store_keys(c_store.address, "simdask:chunk:{c_big}:*")) == chunks  # the old generation is gone
        assert store_client.get_model("c_big") == blob
        assert store_client.get_model_spec("c_big").device == "GPU:1"
    assert run_c(native_c, c_store.address, "delete", "model", "c_big")["status"] == "SD_OK"
    assert store_keys(c_store.address, "simdask:chunk:{c_big}:*") == [] and not store_client.model_exists("c_big")
    missing = run_c(native_c, c_store.address, "delete", "model", "c_big")
    assert missing["status"] == "SD_ERR_NOT_FOUND" and "c_big" in missing["message"]


@pytest.mark.parametrize(
    "blob",
    [
        b"not a zip file",
        zip_of("m/code/__torch__.py", "m/constants.pkl", "m/data.pkl"),  # a TorchScript archive's names
        zip_of("m/archive_format", "m/models/m.json"),  # a torch.export archive's
        zip_of("m/data.pkl", "m/version"),
        b"PK\x05\x06" + bytes(18),  # an empty zip file
    ],
    ids=["no-zip", "torchscript", "torch.export", "other-zip", "empty-zip"],
)
def test_torch_bytes_are_accepted_and_refused_as_python_does(native_c, store_client, c_store, tmp_path, blob):
    (tmp_path / "model.bin").write_bytes(blob)
    try:
        blob_format(blob, "TORCH")
        expected = "SD_OK"
    except ModelError:
        expected = "SD_ERR_MODEL"
    except ValueError:
        expected = "SD_ERR_ARG"
    got = run_c(native_c, c_store.address, "model", "c_fmt", tmp_path / "model.bin", "TORCH", "CPU", 0, 0, 0, "")
    assert got["status"] == expected, got
    assert store_client.model_exists("c_fmt") == (expected == "SD_OK")
    if expected == "SD_ERR_MODEL":
        assert "torch.export" in got["message"] and "c_fmt" in got["message"]


def test_a_script_file_stored_from_c_is_what_python_stores(native_c, store_client, c_store, tmp_path):
    source = "def twice(x):\n    return 2 * x\n"
    (tmp_path / "ops.py").write_text(source)
    got = run_c(native_c, c_store.address, "script", "c_ops", tmp_path / "ops.py", "gpu")
    assert (got["status"], got["version"]) == ("SD_OK", "1")
    assert store_client.get_script("c_ops") == source
    spec, _ = read_blob(store_client.session, "script", "c_ops")
    assert (spec.kind, spec.name, spec.backend, spec.format, spec.device) == (
        "script",
        "c_ops",
        "TORCH",
        "torchscript-source",
        "GPU",
    )
    assert store_client.model_exists("c_ops")
    assert run_c(native_c, c_store.address, "delete", "model", "c_ops")["status"] == "SD_ERR_NOT_FOUND"
    assert run_c(native_c, c_store.address, "delete", "script", "c_ops")["status"] == "SD_OK"
    with pytest.raises(KeyNotFoundError):
        store_client.get_script("c_ops")
    empty = tmp_path / "empty.py"
    empty.write_text("\n  \n")
    assert run_c(native_c, c_store.address, "script", "c_ops", empty, "CPU")["status"] == "SD_ERR_ARG"


def test_misuse_and_bad_arguments_are_sd_err_arg(native_c, store_client, c_store):
    run_program([native_c.c_tests.parent / "c_models", "misuse"], native_env(c_store.address))
    assert not store_client.model_exists("m") and not store_client.model_exists("s")  # nothing refused was stored
    assert store_keys(c_store.address, "simdask:*-version:*") == ["simdask:model-version:{c_onnx}"]


def test_a_model_stored_from_c_runs_in_the_inference_service(native_c, dask_client, standalone_store, tmp_path):
    import simdask

    doubling_model(tmp_path / "double.pt")
    simdask.Client(standalone_store.address).flush()
    address = standalone_store.address
    got = run_c(native_c, address, "model", "c_run", tmp_path / "double.pt", "TORCH", "CPU", 0, 0, 0, "")
    assert got["status"] == "SD_OK"
    with simdask.InferenceServer(address, dask_client):
        run_program([native_c.c_tests.parent / "c_models", "run", "c_run"], native_env(address))


@pytest.mark.parametrize("shape", [(3, 4), (1024, 1536)], ids=["plain", "chunked"])
def test_copy_and_rename_keep_data_and_description(native_c, store_client, c_store, shape):
    """As Python's copy_tensor: data, dims and attrs under the new name, as a new generation of chunks."""
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    store_client.put_tensor("c_src", data, dims=["y", "x"], attrs={"units": "K", "step": 3})
    assert run_c(native_c, c_store.address, "copy", "c_src", "c_copy")["status"] == "SD_OK"
    assert run_c(native_c, c_store.address, "copy", "c_src", "c_copy")["status"] == "SD_OK"  # over itself
    assert run_c(native_c, c_store.address, "rename", "c_copy", "c_moved")["status"] == "SD_OK"
    assert run_c(native_c, c_store.address, "rename", "c_moved", "c_moved")["status"] == "SD_OK"
    info = store_client.tensor_info("c_moved")
    assert (info.dims, info.attrs, info.chunked) == (("y", "x"), {"units": "K", "step": 3}, data.nbytes > 8 << 20)
    np.testing.assert_array_equal(store_client.get_tensor("c_moved"), data)
    assert not store_client.tensor_exists("c_copy")
    chunks = store_keys(c_store.address, "simdask:chunk:*")
    assert len(chunks) == (2 * math.ceil(data.nbytes / (4 << 20)) if info.chunked else 0)  # c_src's and c_moved's
    missing = run_c(native_c, c_store.address, "copy", "c_nothing", "c_never")
    assert missing["status"] == "SD_ERR_NOT_FOUND" and "c_nothing" in missing["message"]
