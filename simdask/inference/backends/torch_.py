"""The TORCH backend: TorchScript modules and TorchScript scripts, checked before they run.

Nothing stored is unpickled: a TorchScript archive is read by
``torch.jit.load`` (TorchScript's own unpickler, which rebuilds tensors and
TorchScript classes only) after its code was checked, and a script is
compiled from its text (:mod:`~simdask.inference.backends.torchscript_guard`
says what is refused and why). ``torch.export`` programs are refused
(:data:`~simdask.protocol.models.TORCH_EXPORT_REFUSED`).
"""

from __future__ import annotations

import io
import logging

import numpy as np
import torch

from ...errors import ModelError
from ...protocol import ModelSpec
from ...protocol.models import TORCH_EXPORT_REFUSED
from .torchscript_guard import check_archive, check_graphs, check_source, module_graphs, unit_graphs

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
    """A TorchScript module or a TorchScript function table on one device."""

    def __init__(self, blob: bytes, spec: ModelSpec) -> None:
        label = f"{spec.kind} {spec.name!r}"
        self._module: torch.jit.ScriptModule | None = None
        if spec.format == "torch.export":
            raise ModelError(f"{label}: {TORCH_EXPORT_REFUSED}")
        if spec.format not in ("torchscript", "torchscript-source"):
            raise ModelError(
                f"{label} has format {spec.format!r}, which the TORCH backend does not load "
                "(it loads torchscript and torchscript-source)"
            )
        self._device = torch_device(spec)
        self.device = str(self._device)
        # Batches come in every row count up to batch_size, and TorchScript's profiling executor specialises
        # the graph for each new shape it sees: ~1 ms per recompilation over the first hundreds of runs (an
        # MLP, benchmarks/README.md "Inference"). The plain executor runs any shape at once, as fast.
        self._optimize = not (spec.kind == "model" and spec.batch_size > 0)
        if spec.format == "torchscript-source":
            try:
                source = blob.decode("utf-8")
            except UnicodeDecodeError:
                raise ModelError(f"{label} is not TorchScript source (not UTF-8)") from None
            check_source(source, label)
            self._unit = torch.jit.CompilationUnit(source)
            check_graphs(unit_graphs(self._unit), label)
        else:
            check_archive(blob, label)
            module = torch.jit.load(io.BytesIO(blob), map_location=self._device)
            check_graphs(module_graphs(module), label)
            self._module = module.eval()

    def run(self, inputs: list[np.ndarray], function: str = "") -> list[np.ndarray]:
        tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(self._device) for a in inputs]
        with torch.inference_mode(), torch.jit.optimized_execution(self._optimize):
            if self._module is not None:
                result = self._module(*tensors)
            else:
                try:
                    fn = getattr(self._unit, function)
                except AttributeError:
                    raise ValueError(f"the script has no function {function!r}") from None
                result = fn(*tensors)
        return [t.detach().cpu().numpy() for t in _as_list(result)]
