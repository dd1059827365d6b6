"""Fixtures of the C client's tests: the clients built once per session
(``sdnative.py``) and stores started by ``simdask.Store``."""

import importlib.util
import sys
from pathlib import Path

_NAME = "simdask_tests_native"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("sdnative.py"))
    sys.modules[_NAME] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_NAME])

from simdask_tests_native import (  # noqa: E402,F401  (fixtures)
    c_cluster_store,
    c_store,
    c_unix_store,
    native_c,
    store_client,
)
