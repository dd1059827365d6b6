"""Stored models and scripts: their settings, their bytes, their keys and version counters.

A model is stored as a uint8 tensor at ``simdask:model:{name}`` whose attrs
hold its :class:`ModelSpec` (backend, format, device, batching, version); a
script likewise at ``simdask:script:{name}`` with its TorchScript source.
Large models are chunked like any tensor, and replacing one is atomic.
Nothing read back is ever unpickled: models are TorchScript or ONNX bytes,
scripts TorchScript source (``docs/protocol.md``, "Run requests").
``torch.export`` programs are refused (:data:`TORCH_EXPORT_REFUSED` says why).

A stored record is validated field by field when read
(:meth:`ModelSpec.from_info`): a record that is not understood is a
:class:`~simdask.errors.ModelError` naming the key, never another exception.
Fields a newer client added are kept in :attr:`ModelSpec.extra` and
otherwise ignored.
"""

from __future__ import annotations

import io
import re
import secrets
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

import numpy as np

from .. import wire
from ..errors import KeyNotFoundError, ModelError, ResponseError, SimdaskError, TensorFormatError
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
    "TORCH_EXPORT_REFUSED",
    "check_device",
    "blob_format",
    "stored_key",
    "version_key",
    "write_stored",
    "read_specs",
    "inspect_specs",
    "spec_request",
    "spec_from_reply",
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
_KINDS = ("model", "script")
_BACKENDS = ("TORCH", "ONNX")
_FORMATS = ("torchscript", "torch.export", "onnx", "torchscript-source")
#: Why ``torch.export`` programs are neither stored nor loaded (``.pt2`` archives of torch 2.13).
TORCH_EXPORT_REFUSED = (
    "torch.export programs (.pt2) are refused: loading one unpickles its sample inputs and pickled "
    "weights, evaluates its shape expressions with sympy and resolves its graph's functions by name, so "
    "a stored program could run any code in the serving loop. Store the model as TorchScript "
    "(torch.jit.script or torch.jit.trace) or as ONNX (torch.onnx.export) instead"
)


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
        """The spec stored in a tensor's attrs; :class:`ModelError` naming ``key`` when it is not a valid one."""
        raw = info.attrs.get(SPEC_ATTR)
        if not isinstance(raw, dict):
            raise ModelError(f"key {key!r} holds a tensor, not a simdask model or script (no settings dict)")
        return cls.from_dict(raw, key)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], key: str) -> ModelSpec:
        """A spec from its stored dict, every field checked; unknown fields go to :attr:`extra`."""

        def bad(field_name: str, expected: str) -> ModelError:
            value = repr(raw.get(field_name))
            value = value if len(value) <= 80 else value[:80] + "..."
            return ModelError(
                f"the settings of the model at key {key!r} are not understood: "
                f"{field_name} must be {expected}, got {value}"
            )

        def text(field_name: str, choices: tuple[str, ...] | None = None, default: str | None = None) -> str:
            value = raw.get(field_name, default)
            if not isinstance(value, str) or (choices is not None and value not in choices):
                raise bad(field_name, f"one of {list(choices)}" if choices else "a string")
            return value

        def count(field_name: str) -> int:
            value = raw.get(field_name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
                raise bad(field_name, "an integer >= 0")
            return value

        def names(field_name: str) -> tuple[str, ...]:
            value = raw.get(field_name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad(field_name, "a list of strings")
            return tuple(value)

        device = text("device", default="CPU")
        try:
            device = check_device(device)
        except ValueError:
            raise bad("device", "'CPU', 'GPU' or 'GPU:n'") from None
        known = {f.name for f in fields(cls)}
        extra = raw.get("extra", {})
        extra = dict(extra) if isinstance(extra, dict) else {}
        extra.update({k: v for k, v in raw.items() if k not in known})
        return cls(
            kind=text("kind", _KINDS),  # type: ignore[arg-type]
            name=text("name", default=""),
            backend=text("backend", _BACKENDS),  # type: ignore[arg-type]
            format=text("format", _FORMATS),  # type: ignore[arg-type]
            device=device,
            batch_size=count("batch_size"),
            min_batch_size=count("min_batch_size"),
            min_batch_timeout=count("min_batch_timeout"),
            tag=text("tag", default=""),
            inputs=names("inputs"),
            outputs=names("outputs"),
            version=count("version"),
            extra=extra,
        )


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
    """The format of a model's bytes: ``onnx`` for ONNX; ``torchscript`` for a TorchScript archive.

    Raises :class:`ValueError` for empty bytes and for TORCH bytes that are not
    a TorchScript archive (a zip file with ``code/`` and ``constants.pkl``),
    and :class:`~simdask.errors.ModelError` for a ``torch.export`` archive
    (:data:`TORCH_EXPORT_REFUSED`).
    """
    if not blob:
        raise ValueError("the model is empty (0 bytes)")
    if backend == "ONNX":
        return "onnx"
    try:
        names = zipfile.ZipFile(io.BytesIO(blob)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ValueError("TORCH models are TorchScript archives (zip files); these bytes are not") from None
    if any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names):
        return "torchscript"
    if any(n.endswith("archive_format") or "/models/" in n for n in names):
        raise ModelError(TORCH_EXPORT_REFUSED)
    raise ValueError(
        "TORCH models are TorchScript archives (a zip file with code/ and constants.pkl); this zip file is not one"
    )


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
    # ``stored``: this store's own id, so that a serving loop tells it from an earlier one of the same version
    # (versions start again at 1 after a flush)
    final = replace(spec, version=version, extra={**spec.extra, "stored": secrets.token_hex(16)})
    array = np.frombuffer(blob, np.uint8)
    put_tensors(session, [encode_tensor(session, stored_key(kind, name), array, attrs=final.to_attrs())])
    return version


def _spec(info: TensorInfo, kind: Kind, name: str, key: str) -> ModelSpec:
    """The spec of the record at ``key``: named as its key says, and of the kind its key says."""
    return replace(ModelSpec.from_info(info, key), kind=kind, name=name)


def read_specs(session: Session, kind: Kind, names: Sequence[str]) -> list[ModelSpec | None]:
    """Specs of stored models or scripts in one pipelined round trip; ``None`` for a missing one."""
    keys = [stored_key(kind, n) for n in names]
    infos = tensor_infos(session, keys, missing_ok=True)
    return [None if info is None else _spec(info, kind, name, key) for key, name, info in zip(keys, names, infos)]


def inspect_specs(session: Session, kind: Kind, names: Sequence[str]) -> list[ModelSpec | SimdaskError | None]:
    """:func:`read_specs` that never raises for one bad record: its error takes its place in the list.

    For serving loops, where one record nobody understands must not stop the
    requests for the others. Errors of the store itself are still raised.
    """
    try:
        return list(read_specs(session, kind, names))
    except SimdaskError as exc:
        if not isinstance(exc, (ModelError, KeyNotFoundError, TensorFormatError, ResponseError)):
            raise  # about reaching the store, not about one record
        if len(names) == 1:
            return [exc]
    return [item for name in names for item in inspect_specs(session, kind, [name])]  # which record is bad


def spec_request(kind: Kind, name: str) -> Request:
    """The read of a stored model's or script's settings (the head of its record), for a caller that pipelines
    it with requests of its own (the serving loop, with the inputs of a run request); decode its reply with
    :func:`spec_from_reply`."""
    key = stored_key(kind, name)
    return Request(key, [("GETRANGE", key, 0, wire.HEADER_PROBE_BYTES - 1)])


def spec_from_reply(kind: Kind, name: str, reply: Any) -> ModelSpec | None:
    """The spec in the reply of :func:`spec_request`; ``None`` when the reply does not settle it (a missing
    record, one whose settings are longer than the read, one not understood, an error reply): then
    :func:`inspect_specs` says what it is."""
    if not isinstance(reply, bytes) or not reply:
        return None
    needed = wire.header_length(reply)
    if needed is None or needed > len(reply):
        return None
    key = stored_key(kind, name)
    try:
        return _spec(wire.decode_header(reply[:needed], key), kind, name, key)
    except SimdaskError:
        return None


def read_blob(session: Session, kind: Kind, name: str) -> tuple[ModelSpec, bytes]:
    """The spec and bytes of a stored model or script."""
    key = stored_key(kind, name)
    try:
        info, array = get_tensors(session, [key], what=f"get_{kind}")[0]
    except KeyNotFoundError:
        raise KeyNotFoundError(f"{kind} {name!r} does not exist in the store at {session.address}") from None
    return _spec(info, kind, name, key), array.tobytes()


def delete_stored(session: Session, kind: Kind, name: str) -> None:
    """Delete a stored model or script; a missing one is a :class:`~simdask.errors.KeyNotFoundError`."""
    if not delete_tensors(session, [stored_key(kind, name)])[0]:
        raise KeyNotFoundError(f"{kind} {name!r} does not exist in the store at {session.address}")


def stored_exists(session: Session, name: str) -> bool:
    """Whether a model or a script named ``name`` exists (both ``EXISTS`` in one pipelined round trip)."""
    keys = [stored_key("model", name), stored_key("script", name)]
    return any(session.transport.run([Request(k, [("EXISTS", k)]) for k in keys]))
