"""The TORCH backend: TorchScript modules, ``torch.export`` programs and TorchScript scripts."""

from __future__ import annotations

import io
import logging

import numpy as np
import torch

from ...protocol import ModelSpec

__all__ = ["TorchRunner", "torch_device"]

log = logging.getLogger("simdask.inference")


def torch_device(spec: ModelSpec) -> torch.device:
    """The torch device for a spec's ``CPU``/``GPU``/``GPU:n``; CPU (with a warning) where CUDA is absent."""
    if not spec.on_gpu:
        return torch.device("cpu")
    if torch.cuda.is_available() and spec.gpu_index < torch.cuda.device_count():
        return torch.device("cuda", spec.gpu_index)
    log.warning("%s declared for %s but CUDA is not available here: running on the CPU", spec.kind, spec.device)
    return torch.device("cpu")


def _as_list(result: object) -> list[torch.Tensor]:
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [t for item in result for t in _as_list(item)]
    if isinstance(result, dict):
        return [t for item in result.values() for t in _as_list(item)]
    raise TypeError(f"the model returned {type(result).__name__}, not tensors")


class TorchRunner:
    """A TorchScript module or function table, or a ``torch.export`` program, on one device."""

    def __init__(self, blob: bytes, spec: ModelSpec) -> None:
        self._device = torch_device(spec)
        self.device = str(self._device)
        buffer = io.BytesIO(blob)
        if spec.format == "torchscript-source":
            self._unit = torch.jit.CompilationUnit(blob.decode())
            self._module = None
        elif spec.format == "torchscript":
            self._module = torch.jit.load(buffer, map_location=self._device).eval()
        else:
            self._module = torch.export.load(buffer).module().to(self._device)

    def run(self, inputs: list[np.ndarray], function: str = "") -> list[np.ndarray]:
        tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(self._device) for a in inputs]
        with torch.inference_mode():
            if self._module is not None:
                result = self._module(*tensors)
            else:
                try:
                    fn = getattr(self._unit, function)
                except AttributeError:
                    raise ValueError(f"the script has no function {function!r}") from None
                result = fn(*tensors)
        return [t.detach().cpu().numpy() for t in _as_list(result)]
