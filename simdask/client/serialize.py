"""Models given as torch or onnx objects, turned into the bytes the store holds.

Client-side convenience for :meth:`simdask.Client.set_model`: torch and onnx
are imported only when such an object is given; bytes pass through with
their format detected (:func:`simdask.protocol.models.blob_format`).
"""

from __future__ import annotations

import io
from typing import Any

from ..protocol.models import Backend, Format, blob_format

__all__ = ["serialize_model"]


def serialize_model(model: Any, backend: str) -> tuple[bytes, Backend, Format]:
    """Bytes and format of a model given as bytes or as a torch / onnx object.

    Accepts TorchScript bytes or a ``torch.jit.ScriptModule``/``ScriptFunction``,
    a ``torch.export.ExportedProgram`` (or its ``.pt2`` bytes), ONNX bytes or an
    ``onnx.ModelProto``.
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
        torch.export.save(model, buffer)
        return buffer.getvalue(), "TORCH", "torch.export"
    if isinstance(model, torch.nn.Module):
        raise TypeError(
            "a plain torch.nn.Module cannot be stored: script it (torch.jit.script) or export it "
            "(torch.export.export) first"
        )
    raise TypeError(
        f"a TORCH model is TorchScript/.pt2 bytes, a ScriptModule or an ExportedProgram, got {type(model).__name__}"
    )
