"""Fixtures of the Python SmartRedis tests: ``import smartredis`` (compat/python) on real simdask stores.

``sr_environ`` clears SmartRedis's and simdask's variables and sets ``SSDB`` as
SmartSim would; ``sr_client`` is a ``smartredis.Client`` made the way SmartSim
codes make it, once per store kind (standalone, Unix socket, cluster), on an
empty store. ``served_store`` is a store running its own serving loop
(``Store(serve=1)``), for ``run_model``/``run_script``.
"""

from __future__ import annotations

import pytest
import smartredis
from smartredis import logger
from sr_py_helpers import clear_environment

import simdask


@pytest.fixture(autouse=True)
def fresh_logging(monkeypatch, tmp_path):
    """Logging read afresh from the environment by each test, into a file of the test (not the console)."""
    monkeypatch.setattr(logger, "_LOG", logger._Log())
    monkeypatch.setenv(logger.LOG_FILE, str(tmp_path / "smartredis.log"))


@pytest.fixture
def sr_environ(store, monkeypatch):
    """SmartSim's environment of a client on ``store`` (each kind in turn, emptied): ``SSDB`` and nothing else."""
    clear_environment(monkeypatch)
    monkeypatch.setenv("SSDB", store.address)
    return store


@pytest.fixture
def sr_client(sr_environ, request):
    """``smartredis.Client(None, logger_name=<test>)`` on each store kind, on an empty store."""
    return smartredis.Client(None, logger_name=request.node.name)


@pytest.fixture
def peek(store):
    """simdask's own client on the same store, to see the keys SmartRedis's calls wrote."""
    with simdask.Client(store.address, key_prefix="", key_prefixes_in=()) as client:
        yield client


@pytest.fixture(scope="session")
def served_store():
    """A standalone store that runs one serving loop itself (``Store(serve=1)``)."""
    with simdask.Store("standalone", serve=1) as store:
        yield store


@pytest.fixture
def served_client(served_store, monkeypatch, request):
    """A SmartRedis client on ``served_store`` (tests use names of their own: the store is not emptied)."""
    clear_environment(monkeypatch)
    monkeypatch.setenv("SSDB", served_store.address)
    return smartredis.Client(None, logger_name=request.node.name)
