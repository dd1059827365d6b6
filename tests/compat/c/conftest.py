"""The SmartRedis C API test programs, built once per session against the installed libsmartredis."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[2] / "examples" / "smartredis" / "c"


@dataclass
class CPrograms:
    tests: Path  # sr_c_tests through find_package(smartredis)
    tests_pkgconfig: Path  # the same source through pkg-config smartredis
    example: Path  # examples/smartredis/c through its own CMakeLists.txt


@pytest.fixture(scope="session")
def sr_c(smartredis_native) -> CPrograms:
    """sr_c_tests built twice (CMake package, pkg-config) and the C example."""
    from simdask_tests_native import run

    base = smartredis_native.base
    smartredis_native.cmake_build(HERE, base / "sr-c-tests")
    flags = smartredis_native.pkg_config("--cflags", "--libs", "smartredis")
    pkgconfig = base / "sr_c_tests_pkgconfig"
    run(
        [
            "gcc",
            "-std=c11",
            "-O1",
            "-g",
            "-Wall",
            "-Wextra",
            HERE / "sr_c_tests.c",
            "-o",
            pkgconfig,
            *flags,
            "-pthread",
            f"-Wl,-rpath,{smartredis_native.prefix / 'lib'}",
        ],
        env=smartredis_native.env,
    )
    smartredis_native.cmake_build(EXAMPLE, base / "sr-c-example")
    return CPrograms(base / "sr-c-tests" / "sr_c_tests", pkgconfig, base / "sr-c-example" / "sr_c_example")
