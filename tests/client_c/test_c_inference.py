"""sd_run_model / sd_run_script answered by the real inference service (simdask.InferenceServer)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the inference service tests need torch (pip install 'simdask[torch]')")

from simdask_tests_native import native_env, run_program, store_responder_models  # noqa: E402

import simdask  # noqa: E402


@pytest.mark.parametrize("kind", ["standalone", "cluster"])
def test_run_requests_from_c(native_c, dask_client, request, kind):
    """The same C program as against the stand-in responder: results, SD_ERR_MODEL messages, SD_ERR_TIMEOUT."""
    store = request.getfixturevalue(f"{kind}_store")
    client = simdask.Client(store.address)
    client.flush()
    store_responder_models(client)
    with simdask.InferenceServer(store.address, dask_client):
        run_program([native_c.c_tests, "requests"], native_env(store.address))
    stats = client.redis().hgetall("simdask:inference:stats")
    assert any(k.startswith(b"model:copy|") for k in stats) and any(k.startswith(b"script:double|") for k in stats)
