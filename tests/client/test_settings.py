"""Time limits resolved in one place: the argument, else SIMDASK_CONNECT_TIMEOUT / SIMDASK_IO_TIMEOUT /
SIMDASK_RUN_TIMEOUT, else the simdask config; a bad value names where it came from."""

from __future__ import annotations

import dask.config
import pytest

from simdask import env
from simdask.protocol import SessionOptions

ADDRESS = "127.0.0.1:6379"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (env.CONNECT_TIMEOUT, env.IO_TIMEOUT, env.RUN_TIMEOUT):
        monkeypatch.delenv(name, raising=False)


def test_defaults_come_from_the_config():
    options = SessionOptions.resolve(ADDRESS)
    assert (options.connect_timeout, options.socket_timeout, options.run_timeout) == (10, 300, 60)
    assert options.retry_window == 2
    with dask.config.set({"simdask.client.socket-timeout": None, "simdask.inference.run-timeout": 5}):
        options = SessionOptions.resolve(ADDRESS)
    assert (options.socket_timeout, options.run_timeout) == (None, 5)


def test_the_environment_beats_the_config_and_the_argument_beats_both(monkeypatch):
    monkeypatch.setenv(env.CONNECT_TIMEOUT, "2.5")
    monkeypatch.setenv(env.IO_TIMEOUT, "7")
    monkeypatch.setenv(env.RUN_TIMEOUT, "9")
    options = SessionOptions.resolve(ADDRESS)
    assert (options.connect_timeout, options.socket_timeout, options.run_timeout) == (2.5, 7, 9)
    options = SessionOptions.resolve(ADDRESS, connect_timeout=1, socket_timeout=3, run_timeout=4)
    assert (options.connect_timeout, options.socket_timeout, options.run_timeout) == (1, 3, 4)


def test_io_timeout_zero_means_no_limit(monkeypatch):
    monkeypatch.setenv(env.IO_TIMEOUT, "0")
    assert SessionOptions.resolve(ADDRESS).socket_timeout is None
    assert SessionOptions.resolve(ADDRESS, socket_timeout=0).socket_timeout is None


@pytest.mark.parametrize(
    "variable, value",
    [
        (env.CONNECT_TIMEOUT, "ten"),
        (env.CONNECT_TIMEOUT, "0"),
        (env.CONNECT_TIMEOUT, "-1"),
        (env.IO_TIMEOUT, "soon"),
        (env.IO_TIMEOUT, "-2"),
        (env.IO_TIMEOUT, "nan"),
        (env.RUN_TIMEOUT, "0"),
        (env.RUN_TIMEOUT, "1e"),
    ],
)
def test_a_bad_value_names_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        SessionOptions.resolve(ADDRESS)


def test_a_bad_argument_says_so():
    with pytest.raises(ValueError, match="the argument must be > 0"):
        SessionOptions.resolve(ADDRESS, connect_timeout=0)
