"""Models and scripts in the store: their settings, their bytes, how they are written and read.

A model is stored as a uint8 tensor at ``simdask:model:{name}`` whose attrs
hold its :class:`ModelSpec` (backend, format, device, batching, version); a
script likewise at ``simdask:script:{name}`` with its TorchScript source.
Large models are chunked like any tensor, and replacing one is atomic.
Nothing read back is ever unpickled: models are TorchScript, ``torch.export``
or ONNX bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ..client import tensors
from ..errors import KeyNotFoundError, ModelError
from ..transport import Transport
from ..wire import TensorInfo
from . import protocol
from .protocol import Kind

__all__ = ["ModelSpec", "serialize_model", "check_device", "write_stored", "read_specs", "read_blob", "SPEC_ATTR"]

#: The attrs entry of a stored model or script that holds its :class:`ModelSpec`.
SPEC_ATTR = "simdask_spec"
Backend = Literal["TORCH", "ONNX"]
Format = Literal["torchscript", "torch.export", "onnx", "torchscript-source"]
#: Lays out an array under a raw key: ``(key, array, dims, attrs) -> EncodedTensor`` (``Client.encode_tensor``).
Encoder = Callable[[str, np.ndarray, Any, Any], tensors.EncodedTensor]
_DEVICE = re.compile(r"^(CPU|GPU)(:\d+)?$")


@dataclass(frozen=True)
class ModelSpec:
    """Everything a serving loop needs to know about a stored model or script besides its bytes."""

    kind: Kind
    name: str
    backend: Backend
    format: Format
    device: str = "CPU"
    batch_size: int = 0
    min_batch_size: int = 0
    min_batch_timeout: int = 0  # milliseconds
    tag: str = ""
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("GPU")

    @property
    def gpu_index(self) -> int:
        return int(self.device.split(":")[1]) if ":" in self.device else 0

    def to_attrs(self) -> dict[str, Any]:
        return {SPEC_ATTR: {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}}

    @classmethod
    def from_info(cls, info: TensorInfo, key: str) -> ModelSpec:
        raw = info.attrs.get(SPEC_ATTR)
        if not isinstance(raw, dict):
            raise ModelError(f"key {key!r} holds a tensor, not a simdask model or script")
        try:
            raw = {**raw, "inputs": tuple(raw.get("inputs", ())), "outputs": tuple(raw.get("outputs", ()))}
            return cls(**raw)
        except TypeError as exc:
            raise ModelError(f"the model settings at key {key!r} are not understood: {exc}") from None


def check_device(device: str) -> str:
    """``"CPU"``, ``"GPU"`` or ``"GPU:n"`` (case-insensitive), normalised."""
    normal = str(device).upper()
    if not _DEVICE.match(normal):
        raise ValueError(f"device must be 'CPU', 'GPU' or 'GPU:n', got {device!r}")
    return normal


def _torch_archive_format(blob: bytes) -> Format:
    try:
        names = zipfile.ZipFile(io.BytesIO(blob)).namelist()
    except zipfile.BadZipFile:
        raise ValueError("TORCH models are TorchScript or torch.export archives (zip files); "
                         "these bytes are not") from None
    if any(n.endswith("/code/") or "/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names):
        return "torchscript"
    return "torch.export"


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
        if not blob:
            raise ValueError("the model is empty (0 bytes)")
        if normal == "ONNX":
            return blob, "ONNX", "onnx"
        return blob, "TORCH", _torch_archive_format(blob)
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


def write_stored(
    transport: Transport, encode: Encoder, kind: Kind, name: str, blob: bytes, spec: ModelSpec
) -> int:
    """Store ``blob`` with ``spec``, bumping the version; returns the new version.

    ``encode`` lays out a tensor under a raw key (a client's ``encode_tensor``).
    """
    counter = protocol.version_key(kind, name)
    version = int(transport.execute(counter, "INCR", counter))
    final = replace(spec, version=version)
    blob_array = np.frombuffer(blob, np.uint8)
    tensors.write_tensors(transport, [encode(protocol.stored_key(kind, name), blob_array, None, final.to_attrs())])
    return version


def read_specs(transport: Transport, kind: Kind, names: Sequence[str]) -> list[ModelSpec | None]:
    """Specs of stored models or scripts in one pipelined round trip; ``None`` for a missing one."""
    keys = [protocol.stored_key(kind, n) for n in names]
    infos = tensors.read_infos(transport, keys, missing_ok=True)
    return [None if info is None else replace(ModelSpec.from_info(info, key), name=name)
            for key, name, info in zip(keys, names, infos)]


def read_blob(transport: Transport, kind: Kind, name: str) -> tuple[ModelSpec, bytes]:
    """The spec and bytes of a stored model or script."""
    key = protocol.stored_key(kind, name)
    try:
        info, array = tensors.read_tensors(transport, [key], what=f"get_{kind}")[0]
    except KeyNotFoundError:
        raise KeyNotFoundError(f"{kind} {name!r} does not exist in the store at {transport.address}") from None
    return replace(ModelSpec.from_info(info, key), name=name), array.tobytes()
