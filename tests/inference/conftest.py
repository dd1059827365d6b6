"""Fixtures of the inference tests: real torch and onnxruntime models, a real Dask cluster
with one worker declared as a GPU worker (placement is tested without a GPU)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the inference tests need torch (pip install 'simdask[torch]')")
ort = pytest.importorskip("onnxruntime", reason="the inference tests need onnxruntime (simdask[onnx])")

from inference_helpers import MLP  # noqa: E402

import simdask  # noqa: E402


@pytest.fixture(scope="session")
def mlp():
    return MLP().eval()


@pytest.fixture
def serving(standalone_store, dask_client, monkeypatch):
    """A client on an empty standalone store with an inference server running on the Dask cluster."""
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    client = simdask.Client(standalone_store.address)
    client.flush()
    server = simdask.InferenceServer(standalone_store.address, dask_client, claim_idle=2).start()
    yield client
    server.stop()
