"""The ONNX backend: onnxruntime sessions from stored ONNX bytes."""

from __future__ import annotations

import logging

import numpy as np
import onnxruntime as ort

from ...protocol import ModelSpec

__all__ = ["OnnxRunner"]

log = logging.getLogger("simdask.inference")


class OnnxRunner:
    """An onnxruntime session on the CPU or, for GPU models where CUDA is there, on a GPU."""

    def __init__(self, blob: bytes, spec: ModelSpec) -> None:
        providers: list[str | tuple[str, dict[str, int]]] = ["CPUExecutionProvider"]
        self.device = "cpu"
        if spec.on_gpu:
            if "CUDAExecutionProvider" in ort.get_available_providers():
                providers.insert(0, ("CUDAExecutionProvider", {"device_id": spec.gpu_index}))
                self.device = f"cuda:{spec.gpu_index}"
            else:
                log.warning("ONNX model declared for %s but onnxruntime has no CUDA here: running on the CPU",
                            spec.device)
        self._session = ort.InferenceSession(blob, providers=providers)
        self._inputs = [i.name for i in self._session.get_inputs()]

    def run(self, inputs: list[np.ndarray], function: str = "") -> list[np.ndarray]:
        if len(inputs) != len(self._inputs):
            raise ValueError(f"the model takes {len(self._inputs)} inputs {self._inputs}, got {len(inputs)}")
        return list(self._session.run(None, dict(zip(self._inputs, inputs))))
