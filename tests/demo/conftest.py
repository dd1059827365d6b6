"""Fixtures of the demo's tests: the C and Fortran clients the session builds once (``tests/client_c/sdnative.py``),
and the demo's simulations built against them, once."""

import importlib.util
import sys
from pathlib import Path

import pytest

from simdask.demo.build import Program, build_programs

_NAME = "simdask_tests_native"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        _NAME, Path(__file__).resolve().parents[1] / "client_c" / "sdnative.py"
    )
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])

from simdask_tests_native import native_c, native_fortran  # noqa: E402,F401  (fixtures)


@pytest.fixture(scope="session")
def demo_build(request, tmp_path_factory) -> tuple[Path, Path | None, dict[str, Program]]:
    """``(build folder, clients prefix, programs)``: the demo's simulations built (as ``simdask demo
    --build-dir --clients-prefix`` builds them) against the session's installed clients (Fortran's too where
    gfortran exists); without those, the prefix is None and the programs are the Python stand-ins."""
    prefix = None
    for fixture in ("native_fortran", "native_c"):
        try:
            prefix = request.getfixturevalue(fixture).prefix
            break
        except pytest.skip.Exception:
            continue
    build_dir = tmp_path_factory.getbasetemp() / "simdask-demo-build"
    programs = build_programs(("C", "Fortran"), build_dir, print, prefix)
    return build_dir, prefix, programs
