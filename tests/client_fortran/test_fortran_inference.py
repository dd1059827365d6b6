"""The Fortran client's run_model / run_script answered by the real inference service."""

from __future__ import annotations

import pytest

pytest.importorskip("torch", reason="the inference service tests need torch (pip install 'simdask[torch]')")

from simdask_tests_native import native_env, run_program, store_responder_models  # noqa: E402

import simdask  # noqa: E402


def test_run_requests_from_fortran(native_fortran, dask_client, standalone_store):
    client = simdask.Client(standalone_store.address)
    client.flush()
    store_responder_models(client)
    with simdask.InferenceServer(standalone_store.address, dask_client):
        run_program([native_fortran.f_tests, "requests"], native_env(standalone_store.address))
