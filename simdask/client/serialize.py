"""Models given as torch or onnx objects, turned into the bytes the store holds.

Client-side convenience for :meth:`simdask.Client.set_model`: torch and onnx
are imported only when such an object is given; bytes pass through with
their format detected (:func:`simdask.protocol.models.blob_format`).
"""

from __future__ import annotations

import io
from typing import Any

from ..errors import ModelError
from ..protocol.models import TORCH_EXPORT_REFUSED, Backend, Format, blob_format

__all__ = ["serialize_model"]


def serialize_model(model: Any, backend: str) -> tuple[bytes, Backend, Format]:
    """Bytes and format of a model given as bytes or as a torch / onnx object.

    Accepts TorchScript bytes or a ``torch.jit.ScriptModule``/``ScriptFunction``,
    ONNX bytes or an ``onnx.ModelProto``. A ``torch.export.ExportedProgram``
    (or its ``.pt2`` bytes) raises :class:`~simdask.errors.ModelError`
    (:data:`~simdask.protocol.models.TORCH_EXPORT_REFUSED`).
    """
    normal = str(backend).upper()
    if normal not in ("TORCH", "ONNX"):
        raise ValueError(f"backend must be 'TORCH' or 'ONNX', got {backend!r}")
    if isinstance(model, (bytes, bytearray, memoryview)):
        blob = bytes(model)
        if normal == "ONNX":
            return blob, "ONNX", blob_format(blob, "ONNX")
        return blob, "TORCH", blob_format(blob, "TORCH")
    module = type(model).__module__
    if normal == "ONNX":
        if module.startswith("onnx") and hasattr(model, "SerializeToString"):
            return model.SerializeToString(), "ONNX", "onnx"
        raise TypeError(f"an ONNX model is bytes or an onnx.ModelProto, got {type(model).__name__}")
    import torch

    buffer = io.BytesIO()
    if isinstance(model, (torch.jit.ScriptModule, torch.jit.ScriptFunction)):
        torch.jit.save(model, buffer)
        return buffer.getvalue(), "TORCH", "torchscript"
    if isinstance(model, torch.export.ExportedProgram):
        raise ModelError(TORCH_EXPORT_REFUSED)
    if isinstance(model, torch.nn.Module):
        raise TypeError(
            "a plain torch.nn.Module cannot be stored: script or trace it (torch.jit.script, torch.jit.trace) "
            "or export it to ONNX (torch.onnx.export) first"
        )
    raise TypeError(f"a TORCH model is TorchScript bytes or a ScriptModule/ScriptFunction, got {type(model).__name__}")
