"""Fixtures of the Fortran SmartRedis tests: the test program (built once per session), the environment of a
program, TorchScript files and a store with its own serving loop (``simdask.Store(serve=1)``, as RedisAI ran models
inside the database)."""

from __future__ import annotations

import pytest
from sr_f_support import build_program, write_model_files


@pytest.fixture(scope="session")
def sr_f_program(smartredis_fortran):
    """The Fortran test program, linked to the installed libsmartredis-fortran."""
    return build_program(smartredis_fortran, smartredis_fortran.base)


@pytest.fixture(scope="session")
def sr_f_env(sr_env):
    """``sr_f_env(store, **extra)``: ``sr_env`` plus SR_DB_TYPE as SmartSim sets it for the store's kind."""

    def env(store, **extra: str) -> dict[str, str]:
        return sr_env(store, SR_DB_TYPE="Clustered" if store.kind == "cluster" else "Standalone", **extra)

    return env


@pytest.fixture(scope="session")
def sr_f_model_files(tmp_path_factory):
    """(TorchScript file of y = 2 x, TorchScript script file with ``twice``)."""
    pytest.importorskip("torch", reason="the model tests need torch (pip install 'simdask[torch]')")
    return write_model_files(tmp_path_factory.mktemp("sr-f-models"))


@pytest.fixture(scope="session")
def sr_f_serving_store():
    """A standalone store with one serving loop of its own."""
    pytest.importorskip("torch", reason="serving loops need torch (pip install 'simdask[torch]')")
    from simdask import Store

    with Store("standalone", serve=1) as store:
        yield store
