"""SmartRedis's logging: SR_LOG_FILE, SR_LOG_LEVEL, the log functions and every object that logs."""

from __future__ import annotations

import re

import pytest
from smartredis import (
    Dataset,
    LLDebug,
    LLDeveloper,
    LLInfo,
    LLQuiet,
    LogContext,
    log_data,
    log_error,
    log_warning,
)
from smartredis.error import RedisRuntimeError
from smartredis.logger import SRLoggingLevel

LINE = re.compile(r"^(?P<context>.+)@\d\d-\d\d-\d\d:(?P<text>.*)$")


def lines(path) -> list[tuple[str, str]]:
    return [LINE.match(line).group("context", "text") for line in path.read_text().splitlines()]


def test_levels_are_smartredis_values():
    assert [int(level) for level in (LLQuiet, LLInfo, LLDebug, LLDeveloper)] == [1, 2, 3, 4]
    assert LLDebug.name == "LLDebug" and isinstance(LLInfo, SRLoggingLevel)


@pytest.mark.parametrize(
    ("setting", "logged"),
    [("", 2), ("QUIET", 1), ("info", 2), ("Debug", 3), ("DEVELOPER", 4)],
)
def test_level_filters_and_format(monkeypatch, tmp_path, setting, logged):
    path = tmp_path / "sr.log"
    monkeypatch.setenv("SR_LOG_FILE", str(path))
    monkeypatch.setenv("SR_LOG_LEVEL", setting)
    for level in (LLQuiet, LLInfo, LLDebug, LLDeveloper):
        log_data("ctx", level, f"level {int(level)}")
    assert lines(path) == [("ctx", f"level {n}") for n in range(1, logged + 1)]


def test_warnings_errors_and_objects(monkeypatch, tmp_path):
    path = tmp_path / "sr.log"
    monkeypatch.setenv("SR_LOG_FILE", str(path))
    log_warning("fn", LLInfo, "careful")
    log_error("fn", LLInfo, "failed")
    LogContext("solver").log_data(LLInfo, "step 10")
    Dataset("state").log_warning(LLInfo, "no coords")
    assert lines(path) == [
        ("fn", "WARNING: careful"),
        ("fn", "ERROR: failed"),
        ("solver", "step 10"),
        ("state", "WARNING: no coords"),
    ]


def test_client_logs_under_its_name(sr_environ, monkeypatch, tmp_path):
    import smartredis

    path = tmp_path / "sr.log"
    monkeypatch.setenv("SR_LOG_FILE", str(path))
    monkeypatch.setenv("SR_LOG_LEVEL", "DEBUG")
    client = smartredis.Client(None, logger_name="driver")
    client.log_error(LLQuiet, "reported")
    found = lines(path)
    assert found[0][0] == "driver" and found[0][1].startswith("New client created")
    assert found[-1] == ("driver", "ERROR: reported")


def test_console_when_no_file(monkeypatch, capsys):
    monkeypatch.delenv("SR_LOG_FILE")
    log_data("console", LLInfo, "to stdout")
    assert re.match(r"console@\d\d-\d\d-\d\d:to stdout\n", capsys.readouterr().out)


def test_bad_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("SR_LOG_LEVEL", "LOUD")
    with pytest.raises(RedisRuntimeError, match="Unrecognized logging level: LOUD"):
        log_data("ctx", LLInfo, "x")


def test_bad_log_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SR_LOG_FILE", str(tmp_path / "no" / "such" / "dir.log"))
    with pytest.raises(RedisRuntimeError, match="Cannot write to file"):
        log_data("ctx", LLInfo, "x")


def test_argument_types():
    with pytest.raises(TypeError):
        log_data(42, LLInfo, "x")
    with pytest.raises(TypeError):
        log_warning("ctx", 2, "x")  # an int is not a level
    with pytest.raises(TypeError):
        log_error("ctx", LLInfo, 42)
    with pytest.raises(TypeError):
        LogContext(42)
    with pytest.raises(TypeError):
        LogContext("ctx").log_data("loud", "x")
