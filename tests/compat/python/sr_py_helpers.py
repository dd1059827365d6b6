"""Constants and helpers of the Python SmartRedis tests."""

from __future__ import annotations

import os

import numpy as np
import pytest

#: SmartRedis's tensor types, every one of which a tensor round trip covers.
TENSOR_DTYPES = (np.float64, np.float32, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16)
#: SmartRedis's metadata scalar types.
SCALAR_DTYPES = (np.float32, np.float64, np.int32, np.int64, np.uint32, np.uint64)


def clear_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SmartRedis (SS*, SR_*) or simdask variables from the test run (but the log file): each test sets its own."""
    for name in list(os.environ):
        if name.startswith(("SSDB", "SSKEY", "SR_", "SIMDASK_")) and name != "SR_LOG_FILE":
            monkeypatch.delenv(name)
