"""Fixtures of the C++ SmartRedis tests: the test program (built once per session) and stores with their own
serving loops (``simdask.Store(serve=1)``, as RedisAI ran models inside the database)."""

from __future__ import annotations

import pytest
from sr_cpp_support import build_program, write_model_files


@pytest.fixture(scope="session")
def sr_cpp_program(smartredis_native):
    """The C++ test program, linked to the installed libsmartredis."""
    return build_program(smartredis_native, smartredis_native.base)


@pytest.fixture(scope="session")
def model_files(tmp_path_factory):
    """(TorchScript model file y = 3 x + 1, TorchScript script file with ``twice``)."""
    pytest.importorskip("torch", reason="the model tests need torch (pip install 'simdask[torch]')")
    return write_model_files(tmp_path_factory.mktemp("sr-cpp-models"))


def _serving(kind: str):
    from simdask import Store

    kwargs = {"shards": 3} if kind == "cluster" else {}
    with Store(kind, serve=1, **kwargs) as store:
        yield store


@pytest.fixture(scope="session")
def serving_store():
    """A standalone store with one serving loop of its own (not to be flushed: that removes the loops' leases)."""
    pytest.importorskip("torch", reason="serving loops need torch (pip install 'simdask[torch]')")
    yield from _serving("standalone")


@pytest.fixture(scope="session")
def serving_cluster_store():
    """A 3-shard cluster with one serving loop of its own."""
    pytest.importorskip("torch", reason="serving loops need torch (pip install 'simdask[torch]')")
    yield from _serving("cluster")
