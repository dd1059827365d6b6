"""Fixtures of the SmartRedis compatibility tests (``tests/compat/{python,c,cpp,fortran}``).

Native libraries (built once per session, into the pytest base temp dir):

``smartredis_native`` -> :class:`SmartRedis`
    libsimdask (``tests/client_c/sdnative.py``'s ``native_c`` build) and then
    ``compat/smartredis`` (libsmartredis: the C and C++ APIs) installed into
    one prefix. ``.prefix`` is that prefix; ``.env`` is an environment in which
    CMake's ``find_package(smartredis)`` and ``pkg-config smartredis`` find
    them; ``.cmake_build(source, build, *args)`` configures and builds a CMake
    project against the prefix; ``.pkg_config(*args)`` runs pkg-config there;
    ``.base`` is a scratch folder of the session.
``smartredis_fortran`` -> :class:`SmartRedis`
    the same, with libsmartredis-fortran and the SmartRedis Fortran modules
    added to the prefix (``find_package(smartredis)`` then has
    ``smartredis::smartredis-fortran``; ``pkg-config smartredis-fortran``);
    skipped without gfortran.

Stores (session-scoped, shared with ``tests/conftest.py`` when the whole suite
runs): ``sr_store`` (standalone TCP), ``sr_unix_store`` and ``sr_cluster_store``
(3 shards); ``sr_any_store`` runs a test once per kind, each emptied first.

Programs: the fixture ``sr_env`` is a function: ``sr_env(store, **extra)`` is the environment of a native program
using a store as SmartSim launches one: ``SSDB`` set to the store's address,
``SR_LOG_LEVEL=QUIET``, no ``SIMDASK_*`` or ``SS*`` variables besides ``extra``.
``run_program(cmd, env)`` (from sdnative) runs it and fails the test, showing
its output, unless it exits 0.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

_NAME = "simdask_tests_native"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        _NAME, Path(__file__).resolve().parents[1] / "client_c" / "sdnative.py"
    )
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])

from simdask_tests_native import (  # noqa: E402,F401  (fixtures and helpers)
    ROOT,
    Native,
    c_cluster_store,
    c_store,
    c_unix_store,
    missing_fortran_tools,
    native_c,
    native_env,
    run,
    run_program,
)

COMPAT = ROOT / "compat" / "smartredis"
JOBS = str(max(1, min(4, os.cpu_count() or 1)))

#: Variables of SmartRedis's environment that a test program must not inherit from the test run.
SMARTREDIS_VARS = ("SSDB", "SR_DB_TYPE", "SSKEYIN", "SSKEYOUT", "SR_LOG_FILE", "SR_LOG_LEVEL")


@dataclass
class SmartRedis:
    """libsimdask and libsmartredis installed in ``prefix`` (plus the Fortran part when ``fortran``)."""

    native: Native
    fortran: bool = False

    @property
    def prefix(self) -> Path:
        return self.native.prefix

    @property
    def base(self) -> Path:
        return self.native.base

    @property
    def env(self) -> dict[str, str]:
        """Environment in which ``find_package(smartredis)`` and ``pkg-config smartredis`` find the prefix."""
        return self.native.env

    def cmake_build(self, source: Path, build: Path, *extra: str) -> None:
        """Configure and build a CMake project against the prefix."""
        self.native.cmake_build(source, build, *extra)

    def pkg_config(self, *args: str) -> list[str]:
        """pkg-config's answer (split) for the installed packages."""
        return run(["pkg-config", *args], env=self.env).split()


def _build(native: Native, fortran: bool) -> None:
    """Configure (Fortran on or off), build and install compat/smartredis into the native prefix, once each."""
    stamp = native.base / f"smartredis-{'fortran' if fortran else 'c'}.json"
    if stamp.exists():
        return
    build = native.base / "build-smartredis"
    run(
        [
            "cmake",
            "-S",
            COMPAT,
            "-B",
            build,
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
            f"-DCMAKE_PREFIX_PATH={native.prefix}",
            f"-DSMARTREDIS_FORTRAN={'ON' if fortran else 'OFF'}",
        ],
        env=native.env,
    )
    run(["cmake", "--build", build, "-j", JOBS], env=native.env)
    run(["cmake", "--install", build, "--prefix", native.prefix], env=native.env)
    stamp.write_text(json.dumps({"prefix": str(native.prefix)}))


@pytest.fixture(scope="session")
def smartredis_native(native_c: Native) -> SmartRedis:  # noqa: F811  (the imported fixture)
    """libsimdask and libsmartredis (C and C++ APIs) in one prefix, built once per session."""
    if shutil.which("g++") is None:
        pytest.skip("g++ not found (apt-get install g++): libsmartredis has C++ sources")
    _build(native_c, fortran=False)
    return SmartRedis(native_c)


@pytest.fixture(scope="session")
def smartredis_fortran(smartredis_native: SmartRedis) -> SmartRedis:
    """:func:`smartredis_native` plus libsmartredis-fortran and the SmartRedis Fortran modules."""
    reason = missing_fortran_tools()
    if reason:
        pytest.skip(f"SmartRedis Fortran modules not built: {reason}")
    _build(smartredis_native.native, fortran=True)
    return SmartRedis(smartredis_native.native, fortran=True)


@pytest.fixture(scope="session")
def sr_store(c_store):  # noqa: F811  (the imported fixture)
    """A standalone TCP store."""
    return c_store


@pytest.fixture(scope="session")
def sr_unix_store(c_unix_store):  # noqa: F811  (the imported fixture)
    """A store on a Unix socket (SSDB=unix:///path)."""
    return c_unix_store


@pytest.fixture(scope="session")
def sr_cluster_store(c_cluster_store):  # noqa: F811  (the imported fixture)
    """A 3-shard cluster (SSDB=host:port,host:port,host:port)."""
    return c_cluster_store


@pytest.fixture(params=("standalone", "unix", "cluster"))
def sr_any_store(request):
    """Each store kind in turn, emptied before the test."""
    from simdask import Client

    store = request.getfixturevalue(
        {"standalone": "sr_store", "unix": "sr_unix_store", "cluster": "sr_cluster_store"}[request.param]
    )
    with Client(store.address) as client:
        client.flush()
    return store


def program_env(store, **extra: str) -> dict[str, str]:
    """Environment of a native program on ``store`` as SmartSim sets it (``SSDB``), quiet logging, plus ``extra``."""
    env = {k: v for k, v in native_env().items() if k not in SMARTREDIS_VARS and not k.startswith("SR_")}
    env["SSDB"] = store.address
    env["SR_LOG_LEVEL"] = "QUIET"
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def sr_env():
    """:func:`program_env`: ``sr_env(store, **extra)`` is the environment of a native program on ``store``."""
    return program_env
