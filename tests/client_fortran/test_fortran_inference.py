"""The Fortran client's run_model / run_script answered by the real inference service."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="the inference service tests need torch (pip install 'simdask[torch]')")

from simdask_tests_native import native_env, run_program, store_responder_models  # noqa: E402

import simdask  # noqa: E402


def test_run_requests_from_fortran(native_fortran, dask_client, standalone_store):
    client = simdask.Client(standalone_store.address)
    client.flush()
    store_responder_models(client)
    with simdask.InferenceServer(standalone_store.address, dask_client):
        run_program([native_fortran.f_tests, "requests"], native_env(standalone_store.address))


def test_a_model_file_stored_from_fortran_runs_from_fortran(native_fortran, dask_client, standalone_store, tmp_path):
    """set_model_from_file of a TorchScript file and set_script from Fortran, then run_model / run_script."""

    class Double(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    torch.jit.save(torch.jit.script(Double()), str(tmp_path / "double.pt"))
    simdask.Client(standalone_store.address).flush()
    with simdask.InferenceServer(standalone_store.address, dask_client):
        run_program(
            [native_fortran.f_tests, "models_run", tmp_path / "double.pt"], native_env(standalone_store.address)
        )
