"""The model, script and function calls of :class:`~smartredis.Client` (a mixin), with their checks.

Models and scripts run on simdask's inference service; the ``_multigpu``
calls store one copy per GPU, named ``<name>.GPU:<n>``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import simdask

from .configoptions import SR_MODEL_TIMEOUT
from .error import RedisRuntimeError
from .logger import LLDebug
from .srobject import SRObject
from .util import client_method, init_default, typecheck

__all__ = ["ModelCalls"]

#: Backends SmartRedis names; simdask's inference service runs TORCH and ONNX.
_SUPPORTED_BACKENDS = ("TORCH", "ONNX")
_REFUSED_BACKENDS = ("TF", "TFLITE")


def _tensor_names(value: str | list[str] | None, label: str) -> list[str]:
    """A tensor name or list of names as a list (``None``: none); a :class:`TypeError` otherwise."""
    names = init_default([], value, (list, str))
    names = [names] if isinstance(names, str) else names
    for name in names:
        typecheck(name, label, str)
    return names


def _check_device(device: str) -> str:
    device = device.upper()
    if not device.startswith(("CPU", "GPU")):
        raise TypeError("Device argument must start with either CPU or GPU")
    return device


def _check_backend(backend: str) -> str:
    backend = backend.upper()
    if backend in _REFUSED_BACKENDS:
        raise TypeError(
            f"Backend type {backend} is not supported by simdask's inference service: "
            f"store the model as {' or '.join(_SUPPORTED_BACKENDS)} (e.g. export it to ONNX)"
        )
    if backend not in _SUPPORTED_BACKENDS:
        raise TypeError(f"Backend type {backend} unsupported (supported: {', '.join(_SUPPORTED_BACKENDS)})")
    return backend


def _check_file(file: str) -> str:
    path = os.path.abspath(file)
    if not os.path.isfile(path):
        raise FileNotFoundError(path)
    return path


def _check_gpus(first_gpu: int, num_gpus: int) -> list[str]:
    """The devices ``GPU:<first_gpu>`` .. of ``num_gpus`` GPUs; a :class:`ValueError` for a bad range."""
    if first_gpu < 0:
        raise ValueError(f"first_gpu must be a non-negative integer, got {first_gpu}")
    if num_gpus < 1:
        raise ValueError(f"num_gpus must be a positive integer, got {num_gpus}")
    return [f"GPU:{gpu}" for gpu in range(first_gpu, first_gpu + num_gpus)]


def _check_batching(batch_size: int, min_batch_size: int, min_batch_timeout: int) -> None:
    """SmartRedis's rules for the batching settings: refused when they cannot batch, a warning when unwise."""
    if batch_size == 0 and (min_batch_size > 0 or min_batch_timeout > 0):
        raise RedisRuntimeError("batch_size must be non-zero if min_batch_size or min_batch_timeout is used")
    if min_batch_timeout > 0 and min_batch_size == 0:
        raise RedisRuntimeError("min_batch_size must be non-zero if min_batch_timeout is used")
    if min_batch_size > 0 and min_batch_timeout == 0:
        print(
            "WARNING: min_batch_size is set but min_batch_timeout is 0: a batch waits for min_batch_size rows "
            "without limit; a small min_batch_timeout (~10 ms) bounds the wait",
            file=sys.stderr,
        )


def _model_timeout() -> float | None:
    """``SR_MODEL_TIMEOUT`` (milliseconds) in seconds, read at each run as SmartRedis does; ``None`` when unset."""
    text = os.environ.get(SR_MODEL_TIMEOUT, "").strip()
    if not text:
        return None
    try:
        milliseconds = int(text)
    except ValueError:
        raise ValueError(f"{SR_MODEL_TIMEOUT}={text!r} is not an integer number of milliseconds") from None
    if milliseconds <= 0:
        raise ValueError(f"{SR_MODEL_TIMEOUT} must be > 0 milliseconds, got {milliseconds}")
    return milliseconds / 1000


def _gpu_copy(name: str, device: str) -> str:
    """The name of the copy of model or script ``name`` stored for ``device`` by the ``_multigpu`` calls."""
    return f"{name}.{device}"


class ModelCalls(SRObject):
    """:class:`~smartredis.Client`'s models, scripts and functions (its ``_core`` is the simdask client)."""

    _core: simdask.Client

    # -- scripts -----------------------------------------------------------------

    @client_method
    def set_function(self, name: str, function: Callable[..., Any], device: str = "CPU") -> None:
        """Store a Python function written in TorchScript's subset as script ``name``."""
        typecheck(name, "name", str)
        typecheck(device, "device", str)
        if not callable(function):
            raise TypeError(f"Argument provided for function, {type(function)}, is not callable")
        self._core.set_function(name, function, _check_device(device))

    @client_method
    def set_function_multigpu(self, name: str, function: Callable[..., Any], first_gpu: int, num_gpus: int) -> None:
        """:meth:`set_function` once per GPU ``first_gpu`` .. (``name.GPU:<n>`` on device ``GPU:<n>``)."""
        typecheck(name, "name", str)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        if not callable(function):
            raise TypeError(f"Argument provided for function, {type(function)}, is not callable")
        for device in _check_gpus(first_gpu, num_gpus):
            self._core.set_function(_gpu_copy(name, device), function, device)

    @client_method
    def set_script(self, name: str, script: str, device: str = "CPU") -> None:
        """Store TorchScript source ``script`` as script ``name``."""
        typecheck(name, "name", str)
        typecheck(script, "script", str)
        typecheck(device, "device", str)
        self._core.set_script(name, script, _check_device(device))

    @client_method
    def set_script_multigpu(self, name: str, script: str, first_gpu: int, num_gpus: int) -> None:
        """:meth:`set_script` once per GPU ``first_gpu`` .. (``name.GPU:<n>`` on device ``GPU:<n>``)."""
        typecheck(name, "name", str)
        typecheck(script, "script", str)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        for device in _check_gpus(first_gpu, num_gpus):
            self._core.set_script(_gpu_copy(name, device), script, device)

    @client_method
    def set_script_from_file(self, name: str, file: str, device: str = "CPU") -> None:
        """:meth:`set_script` with the source read from ``file``."""
        typecheck(name, "name", str)
        typecheck(file, "file", str)
        typecheck(device, "device", str)
        device = _check_device(device)
        self._core.set_script_from_file(name, _check_file(file), device)

    @client_method
    def set_script_from_file_multigpu(self, name: str, file: str, first_gpu: int, num_gpus: int) -> None:
        """:meth:`set_script_multigpu` with the source read from ``file``."""
        typecheck(name, "name", str)
        typecheck(file, "file", str)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        devices = _check_gpus(first_gpu, num_gpus)
        source = Path(_check_file(file)).read_text()
        for device in devices:
            self._core.set_script(_gpu_copy(name, device), source, device)

    @client_method
    def get_script(self, name: str) -> str:
        """The source of script ``name``."""
        typecheck(name, "name", str)
        return self._core.get_script(name)

    @client_method
    def run_script(self, name: str, fn_name: str, inputs: str | list[str], outputs: str | list[str]) -> None:
        """Run function ``fn_name`` of script ``name`` on stored tensors; its results are stored as ``outputs``."""
        typecheck(name, "name", str)
        typecheck(fn_name, "fn_name", str)
        ins, outs = _tensor_names(inputs, "inputs"), _tensor_names(outputs, "outputs")
        self._core.run_script(name, fn_name, ins, outs, timeout=_model_timeout())

    @client_method
    def run_script_multigpu(
        self,
        name: str,
        fn_name: str,
        inputs: str | list[str],
        outputs: str | list[str],
        offset: int,
        first_gpu: int,
        num_gpus: int,
    ) -> None:
        """Run the copy of script ``name`` for GPU ``first_gpu + offset % num_gpus`` (an MPI rank as offset)."""
        typecheck(name, "name", str)
        typecheck(fn_name, "fn_name", str)
        ins, outs = _tensor_names(inputs, "inputs"), _tensor_names(outputs, "outputs")
        typecheck(offset, "offset", int)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        devices = _check_gpus(first_gpu, num_gpus)
        copy = _gpu_copy(name, devices[offset % num_gpus])
        self._core.run_script(copy, fn_name, ins, outs, timeout=_model_timeout())

    @client_method
    def delete_script(self, name: str) -> None:
        """Delete script ``name``."""
        typecheck(name, "name", str)
        self._core.delete_script(name)

    @client_method
    def delete_script_multigpu(self, name: str, first_gpu: int, num_gpus: int) -> None:
        """Delete the copies of script ``name`` stored by :meth:`set_script_multigpu`."""
        typecheck(name, "name", str)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        for device in _check_gpus(first_gpu, num_gpus):
            self._core.delete_script(_gpu_copy(name, device))

    # -- models ------------------------------------------------------------------

    @client_method
    def get_model(self, name: str) -> bytes:
        """The stored bytes of model ``name``."""
        typecheck(name, "name", str)
        return self._core.get_model(name)

    @client_method
    def set_model(
        self,
        name: str,
        model: bytes,
        backend: str,
        device: str = "CPU",
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: str | list[str] | None = None,
        outputs: str | list[str] | None = None,
    ) -> None:
        """Store a TORCH or ONNX model under ``name``, run by simdask's inference service on ``device``."""
        backend, device = self._model_settings(
            name, backend, device, batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs
        )
        self._core.set_model(name, model, backend, device, batch_size, min_batch_size, min_batch_timeout, tag)

    @client_method
    def set_model_multigpu(
        self,
        name: str,
        model: bytes,
        backend: str,
        first_gpu: int,
        num_gpus: int,
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: str | list[str] | None = None,
        outputs: str | list[str] | None = None,
    ) -> None:
        """:meth:`set_model` once per GPU ``first_gpu`` .. (``name.GPU:<n>`` on device ``GPU:<n>``)."""
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        backend, _ = self._model_settings(
            name, backend, "GPU", batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs
        )
        for device in _check_gpus(first_gpu, num_gpus):
            copy = _gpu_copy(name, device)
            self._core.set_model(copy, model, backend, device, batch_size, min_batch_size, min_batch_timeout, tag)

    @client_method
    def set_model_from_file(
        self,
        name: str,
        model_file: str,
        backend: str,
        device: str = "CPU",
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: str | list[str] | None = None,
        outputs: str | list[str] | None = None,
    ) -> None:
        """:meth:`set_model` with the model read from ``model_file``."""
        typecheck(model_file, "model_file", str)
        backend, device = self._model_settings(
            name, backend, device, batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs
        )
        model = Path(_check_file(model_file)).read_bytes()
        self._core.set_model(name, model, backend, device, batch_size, min_batch_size, min_batch_timeout, tag)

    @client_method
    def set_model_from_file_multigpu(
        self,
        name: str,
        model_file: str,
        backend: str,
        first_gpu: int,
        num_gpus: int,
        batch_size: int = 0,
        min_batch_size: int = 0,
        min_batch_timeout: int = 0,
        tag: str = "",
        inputs: str | list[str] | None = None,
        outputs: str | list[str] | None = None,
    ) -> None:
        """:meth:`set_model_multigpu` with the model read from ``model_file``."""
        typecheck(model_file, "model_file", str)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        backend, _ = self._model_settings(
            name, backend, "GPU", batch_size, min_batch_size, min_batch_timeout, tag, inputs, outputs
        )
        devices = _check_gpus(first_gpu, num_gpus)
        model = Path(_check_file(model_file)).read_bytes()
        for device in devices:
            copy = _gpu_copy(name, device)
            self._core.set_model(copy, model, backend, device, batch_size, min_batch_size, min_batch_timeout, tag)

    @staticmethod
    def _model_settings(
        name: str,
        backend: str,
        device: str,
        batch_size: int,
        min_batch_size: int,
        min_batch_timeout: int,
        tag: str,
        inputs: str | list[str] | None,
        outputs: str | list[str] | None,
    ) -> tuple[str, str]:
        """Check a model's settings as SmartRedis does; the backend and device, normalised."""
        typecheck(name, "name", str)
        typecheck(backend, "backend", str)
        typecheck(device, "device", str)
        typecheck(batch_size, "batch_size", int)
        typecheck(min_batch_size, "min_batch_size", int)
        typecheck(min_batch_timeout, "min_batch_timeout", int)
        typecheck(tag, "tag", str)
        device = _check_device(device)
        backend = _check_backend(backend)
        if _tensor_names(inputs, "inputs") or _tensor_names(outputs, "outputs"):
            raise ValueError("inputs and outputs of set_model are only valid for TF models, which simdask does not run")
        _check_batching(batch_size, min_batch_size, min_batch_timeout)
        return backend, device

    @client_method
    def run_model(
        self, name: str, inputs: str | list[str] | None = None, outputs: str | list[str] | None = None
    ) -> None:
        """Run model ``name`` on stored tensors ``inputs`` (read prefix), storing ``outputs`` (write prefix).

        Waits for simdask's inference service at most ``SR_MODEL_TIMEOUT``
        milliseconds (unset: simdask's run timeout); with no serving loop
        running it fails at once, saying what to start.
        """
        typecheck(name, "name", str)
        ins, outs = _tensor_names(inputs, "inputs"), _tensor_names(outputs, "outputs")
        self._core.run_model(name, ins, outs, timeout=_model_timeout())

    @client_method
    def run_model_multigpu(
        self,
        name: str,
        offset: int,
        first_gpu: int,
        num_gpus: int,
        inputs: str | list[str] | None = None,
        outputs: str | list[str] | None = None,
    ) -> None:
        """Run the copy of model ``name`` for GPU ``first_gpu + offset % num_gpus`` (an MPI rank as offset)."""
        typecheck(name, "name", str)
        typecheck(offset, "offset", int)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        ins, outs = _tensor_names(inputs, "inputs"), _tensor_names(outputs, "outputs")
        devices = _check_gpus(first_gpu, num_gpus)
        copy = _gpu_copy(name, devices[offset % num_gpus])
        self._core.run_model(copy, ins, outs, timeout=_model_timeout())

    @client_method
    def delete_model(self, name: str) -> None:
        """Delete model ``name``."""
        typecheck(name, "name", str)
        self._core.delete_model(name)

    @client_method
    def delete_model_multigpu(self, name: str, first_gpu: int, num_gpus: int) -> None:
        """Delete the copies of model ``name`` stored by :meth:`set_model_multigpu`."""
        typecheck(name, "name", str)
        typecheck(first_gpu, "first_gpu", int)
        typecheck(num_gpus, "num_gpus", int)
        for device in _check_gpus(first_gpu, num_gpus):
            self._core.delete_model(_gpu_copy(name, device))

    @client_method
    def set_model_chunk_size(self, chunk_size: int) -> None:
        """Accepted and without effect: RedisAI's model chunk size has no counterpart (simdask chunks by itself)."""
        typecheck(chunk_size, "chunk_size", int)
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be a positive number of bytes, got {chunk_size}")
        self.log_data(LLDebug, f"set_model_chunk_size({chunk_size}) has no effect on a simdask store")
