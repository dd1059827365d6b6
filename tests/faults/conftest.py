"""Fault tests: real servers frozen (SIGSTOP), restarted and cut off under running clients, real
serving loops fed poisoned requests and hostile models, a Dask worker killed mid-computation.

Helpers (``fault_helpers``) find a server's process through :class:`simdask.Store`'s own API
(``store.servers[i].pid``, ``.stop()``, ``.start()``, ``.wait_ready()``).
"""

from __future__ import annotations

import pytest

import simdask


@pytest.fixture
def own_store(monkeypatch):
    """A standalone store of this test's own (it gets frozen, restarted, stopped)."""
    for name in (
        "SIMDASK_KEY_PREFIX",
        "SIMDASK_KEY_PREFIXES_IN",
        "SIMDASK_PASSWORD",
        "SIMDASK_CONNECT_TIMEOUT",
        "SIMDASK_IO_TIMEOUT",
        "SIMDASK_RUN_TIMEOUT",
    ):
        monkeypatch.delenv(name, raising=False)
    with simdask.Store() as store:
        yield store
