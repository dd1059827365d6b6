"""Fixtures of the MPI tests: the C and Fortran clients built once per session (``tests/client_c/sdnative.py``)."""

import importlib.util
import sys
from pathlib import Path

_NAME = "simdask_tests_native"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(
        _NAME, Path(__file__).resolve().parents[1] / "client_c" / "sdnative.py"
    )
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])

from simdask_tests_native import native_c, native_fortran  # noqa: E402,F401  (fixtures)
