"""Shared fixtures: real stores started by simdask itself (no fakes, no mocks).

Session-scoped stores (standalone TCP, Unix socket, 3-shard cluster) are
started once; each test that takes ``client`` gets a fresh client on an empty
store, once per store kind.
"""

from __future__ import annotations

import ipaddress
import signal
import socket

import psutil
import pytest

import simdask


def pytest_configure(config):
    """Tests press Ctrl-C (SIGINT) on the processes they start. A shell that runs the suite in the background
    (``make test &``, ``nohup``) hands SIGINT down ignored, and a program started with it ignored never sees
    Ctrl-C; a handler of our own is reset to the default in every program the tests start."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def standalone_store():
    with simdask.Store("standalone") as store:
        yield store


@pytest.fixture(scope="session")
def unix_store():
    with simdask.Store("unix") as store:
        yield store


@pytest.fixture(scope="session")
def cluster_store():
    with simdask.Store("cluster", shards=3) as store:
        yield store


_KINDS = ("standalone", "unix", "cluster")


@pytest.fixture(params=_KINDS)
def store(request):
    """Each store kind in turn, emptied before the test."""
    store = request.getfixturevalue(f"{request.param}_store")
    with simdask.Client(store.address) as client:
        client.flush()
    return store


@pytest.fixture
def client(store, monkeypatch):
    """A client (no key prefixes) on each store kind in turn, on an empty store."""
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Client(store.address) as client:
        yield client


@pytest.fixture
def small_chunks_client(store, monkeypatch):
    """A client that chunks anything over 1 KiB into 256-byte chunks: the chunked form with small data."""
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Client(store.address, chunk_threshold=1024, chunk_bytes=256) as client:
        yield client


@pytest.fixture
def raw(client):
    """redis-py on the same store, to write what simdask never would (corrupt blobs, foreign types)."""
    r = client.redis()
    yield r
    r.close()


@pytest.fixture(scope="session")
def dask_client():
    """A Dask cluster of two worker processes: one plain, one declared with resources={"GPU": 1}."""
    from distributed import Client, Nanny, Scheduler, SpecCluster

    workers = {
        "cpu": {"cls": Nanny, "options": {"nthreads": 2, "host": "127.0.0.1", "dashboard_address": ":0"}},
        "gpu": {
            "cls": Nanny,
            "options": {"nthreads": 2, "host": "127.0.0.1", "dashboard_address": ":0", "resources": {"GPU": 1}},
        },
    }
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": ":0"}}
    with SpecCluster(workers=workers, scheduler=scheduler) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        yield client


@pytest.fixture
def non_loopback_ipv4() -> str:
    """An IPv4 address of this machine that is not loopback (tests connect to it from this machine only)."""
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family == socket.AF_INET and not ipaddress.ip_address(addr.address).is_loopback:
                return str(addr.address)
    pytest.skip("this machine has no non-loopback IPv4 address to bind a store to")
