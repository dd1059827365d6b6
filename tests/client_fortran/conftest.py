"""Fixtures of the Fortran client's tests: the same session build as the C
client's tests (``tests/client_c/sdnative.py``) plus the Fortran client."""

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

from simdask_tests_native import (  # noqa: E402,F401  (fixtures)
    c_store,
    native_c,
    native_fortran,
    store_client,
)
