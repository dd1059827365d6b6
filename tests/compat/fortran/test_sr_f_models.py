"""SmartRedis's Fortran models and scripts on simdask's inference service: a store with its own serving loop runs
them; without one, run_model fails at once saying what to start; the _multigpu forms store a copy per GPU."""

from __future__ import annotations

from sr_f_support import SCRIPT_SOURCE, run_case

import simdask


def test_models_and_scripts_run_from_fortran(sr_f_program, sr_f_serving_store, sr_f_model_files, sr_f_env):
    """set_model_from_file, set_model (bytes), set_script(_from_file), run_model, run_script, get_model,
    get_script, delete_*; TF refused naming what is supported."""
    model, script = sr_f_model_files
    run_case(sr_f_program, "models", sr_f_env(sr_f_serving_store), model, script)
    with simdask.Client(sr_f_serving_store.address) as client:
        assert client.get_model("f_double") == model.read_bytes()
        assert client.get_script("f_ops") == SCRIPT_SOURCE
        assert client.get_model_spec("f_double").backend == "TORCH"


def test_run_model_without_serving_loops_says_what_to_start(sr_f_program, sr_store, sr_f_model_files, sr_f_env):
    with simdask.Client(sr_store.address) as client:
        client.flush()
    run_case(sr_f_program, "no_serving", sr_f_env(sr_store), sr_f_model_files[0])


def test_multigpu_forms_store_one_copy_per_gpu(sr_f_program, sr_store, sr_f_model_files, sr_f_env):
    with simdask.Client(sr_store.address) as client:
        client.flush()
    run_case(sr_f_program, "multigpu", sr_f_env(sr_store), sr_f_model_files[0])
    with simdask.Client(sr_store.address) as client:
        assert [client.get_model_spec(f"f_mgf.GPU:{g}").device for g in (1, 2)] == ["GPU:1", "GPU:2"]
        assert not client.model_exists("f_mg.GPU:1")
