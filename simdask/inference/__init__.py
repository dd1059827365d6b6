"""Inference as Dask tasks: serving loops that answer run requests, and ``predict`` over dask arrays.

Importing this package is light: the serving side, Dask, torch and
onnxruntime load only when used.
"""

from __future__ import annotations

from typing import Any

from ..protocol import ModelSpec

__all__ = ["InferenceServer", "ModelSpec", "ThreadedServer", "predict"]


def __getattr__(name: str) -> Any:
    if name == "InferenceServer":
        from .server import InferenceServer

        return InferenceServer
    if name == "ThreadedServer":
        from .threads import ThreadedServer

        return ThreadedServer
    if name == "predict":
        from .prediction import predict

        return predict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
