"""Stored models and scripts: their settings, their bytes, their keys and version counters.

A model is stored as a uint8 tensor at ``simdask:model:{name}`` whose attrs
hold its :class:`ModelSpec` (backend, format, device, batching, version); a
script likewise at ``simdask:script:{name}`` with its TorchScript source.
Large models are chunked like any tensor, and replacing one is atomic.
Nothing read back is ever unpickled: models are TorchScript, ``torch.export``
or ONNX bytes (``docs/protocol.md``, "Run requests").
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ..errors import KeyNotFoundError, ModelError
from ..transport import Request
from ..wire import TensorInfo
from .session import Session
from .tensors import delete_tensors, encode_tensor, get_tensors, put_tensors, tensor_infos

__all__ = [
    "SPEC_ATTR",
    "Kind",
    "Backend",
    "Format",
    "ModelSpec",
    "check_device",
    "blob_format",
    "stored_key",
    "version_key",
    "write_stored",
    "read_specs",
    "read_blob",
    "stored_exists",
    "delete_stored",
]

#: The attrs entry of a stored model or script that holds its :class:`ModelSpec`.
SPEC_ATTR = "simdask_spec"
#: What is stored: a model, or a script of TorchScript functions.
Kind = Literal["model", "script"]
Backend = Literal["TORCH", "ONNX"]
Format = Literal["torchscript", "torch.export", "onnx", "torchscript-source"]
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
        """Whether serving loops run it on a GPU."""
        return self.device.startswith("GPU")

    @property
    def gpu_index(self) -> int:
        """The GPU it runs on (``GPU:n``; 0 for plain ``GPU``)."""
        return int(self.device.split(":")[1]) if ":" in self.device else 0

    def to_attrs(self) -> dict[str, Any]:
        """The tensor attrs that store this spec."""
        return {SPEC_ATTR: {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}}

    @classmethod
    def from_info(cls, info: TensorInfo, key: str) -> ModelSpec:
        """The spec stored in a tensor's attrs; :class:`ModelError` when the tensor holds none."""
        raw = info.attrs.get(SPEC_ATTR)
        if not isinstance(raw, dict):
            raise ModelError(f"key {key!r} holds a tensor, not a simdask model or script")
        try:
            raw = {**raw, "inputs": tuple(raw.get("inputs", ())), "outputs": tuple(raw.get("outputs", ()))}
            return cls(**raw)
        except TypeError as exc:
            raise ModelError(f"the model settings at key {key!r} are not understood: {exc}") from None


def check_device(device: str) -> str:
    """``"CPU"``, ``"GPU"`` or ``"GPU:n"`` (case-insensitive), normalised.

    >>> check_device("gpu:1")
    'GPU:1'
    """
    normal = str(device).upper()
    if not _DEVICE.match(normal):
        raise ValueError(f"device must be 'CPU', 'GPU' or 'GPU:n', got {device!r}")
    return normal


def blob_format(blob: bytes, backend: Backend) -> Format:
    """The format of a model's bytes: ``onnx`` for ONNX; TorchScript or ``torch.export`` archives for TORCH.

    Raises :class:`ValueError` for empty bytes, and for TORCH bytes that are
    not a zip archive (what both TorchScript and ``torch.export`` write).
    """
    if not blob:
        raise ValueError("the model is empty (0 bytes)")
    if backend == "ONNX":
        return "onnx"
    try:
        names = zipfile.ZipFile(io.BytesIO(blob)).namelist()
    except zipfile.BadZipFile:
        raise ValueError("TORCH models are TorchScript or torch.export archives (zip files); "
                         "these bytes are not") from None
    if any(n.endswith("/code/") or "/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names):
        return "torchscript"
    return "torch.export"


def stored_key(kind: Kind, name: str) -> str:
    """Key of a stored model or script: its bytes as a uint8 tensor whose attrs hold its settings.

    >>> stored_key("model", "mlp")
    'simdask:model:{mlp}'
    """
    return f"simdask:{kind}:{{{name}}}"


def version_key(kind: Kind, name: str) -> str:
    """Counter bumped by every ``set_model``/``set_script`` of ``name`` (same shard as the model)."""
    return f"simdask:{kind}-version:{{{name}}}"


def write_stored(session: Session, kind: Kind, name: str, blob: bytes, spec: ModelSpec) -> int:
    """Store ``blob`` with ``spec`` under ``name``, bumping its version (``INCR``); returns the new version."""
    counter = version_key(kind, name)
    version = int(session.transport.execute(counter, "INCR", counter))
    final = replace(spec, version=version)
    array = np.frombuffer(blob, np.uint8)
    put_tensors(session, [encode_tensor(session, stored_key(kind, name), array, attrs=final.to_attrs())])
    return version


def read_specs(session: Session, kind: Kind, names: Sequence[str]) -> list[ModelSpec | None]:
    """Specs of stored models or scripts in one pipelined round trip; ``None`` for a missing one."""
    keys = [stored_key(kind, n) for n in names]
    infos = tensor_infos(session, keys, missing_ok=True)
    return [None if info is None else replace(ModelSpec.from_info(info, key), name=name)
            for key, name, info in zip(keys, names, infos)]


def read_blob(session: Session, kind: Kind, name: str) -> tuple[ModelSpec, bytes]:
    """The spec and bytes of a stored model or script."""
    key = stored_key(kind, name)
    try:
        info, array = get_tensors(session, [key], what=f"get_{kind}")[0]
    except KeyNotFoundError:
        raise KeyNotFoundError(f"{kind} {name!r} does not exist in the store at {session.address}") from None
    return replace(ModelSpec.from_info(info, key), name=name), array.tobytes()


def delete_stored(session: Session, kind: Kind, name: str) -> None:
    """Delete a stored model or script; a missing one is a :class:`~simdask.errors.KeyNotFoundError`."""
    if not delete_tensors(session, [stored_key(kind, name)])[0]:
        raise KeyNotFoundError(f"{kind} {name!r} does not exist in the store at {session.address}")


def stored_exists(session: Session, name: str) -> bool:
    """Whether a model or a script named ``name`` exists (both ``EXISTS`` in one pipelined round trip)."""
    keys = [stored_key("model", name), stored_key("script", name)]
    return any(session.transport.run([Request(k, [("EXISTS", k)]) for k in keys]))
