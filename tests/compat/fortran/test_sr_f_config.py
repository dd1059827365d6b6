"""SmartRedis's Fortran ConfigOptions (suffixed environment variables), logging and LogContext on simdask."""

from __future__ import annotations

from sr_f_support import run_case

import simdask


def test_configoptions_with_a_suffix(sr_f_program, sr_any_store, sr_f_env):
    """create_configoptions_from_environment("OCEAN") reads SSDB_OCEAN and SR_DB_TYPE_OCEAN (SSDB itself unset);
    overrides, typed reads, SRKeyError for an unset option; a client made from the options works."""
    env = sr_f_env(sr_any_store, SSDB_OCEAN=sr_any_store.address)
    env["SR_DB_TYPE_OCEAN"] = env.pop("SR_DB_TYPE")
    del env["SSDB"]
    run_case(sr_f_program, "config", env, sr_any_store.address)
    with simdask.Client(sr_any_store.address) as client:
        assert client.get_tensor("f_cfg_x").tolist() == [1.0, 2.0]


def test_logging_to_sr_log_file(sr_f_program, sr_store, tmp_path, sr_f_env):
    """log_data, log_warning, log_error against a client, a dataset, a LogContext and a string context go to
    SR_LOG_FILE with their context's name; a line above SR_LOG_LEVEL does not."""
    log = tmp_path / "sr.log"
    run_case(sr_f_program, "logging", sr_f_env(sr_store, SR_LOG_FILE=str(log), SR_LOG_LEVEL="INFO"))
    lines = log.read_text().splitlines()
    for context, text in (
        ("sr_f_tests", "data from the client"),
        ("f_log_ds", "warning from the dataset"),
        ("f_ctx", "error from the context"),
        ("f_string_ctx", "data from a string context"),
    ):
        assert any(context in line and text in line for line in lines), (context, text, lines)
    assert not any("too verbose" in line for line in lines)
