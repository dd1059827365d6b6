"""The ONNX backend: onnxruntime sessions from stored ONNX bytes.

onnxruntime runs only ONNX operators (no custom-operator libraries are
registered), so a stored model cannot run code. One thing it could still do
from the bytes alone is read a file: an initializer stored as "external
data" names a path, resolved against the working directory. Every session
here resolves external data in an empty private folder instead, so such a
model fails to load.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
import threading

import numpy as np
import onnxruntime as ort

from ...protocol import ModelSpec

__all__ = ["OnnxRunner"]

log = logging.getLogger("simdask.inference")

_NO_EXTERNAL_DATA: str | None = None
_LOCK = threading.Lock()


def _empty_folder() -> str:
    """A private empty folder (0700, this process's) where external data is looked for, and never found."""
    global _NO_EXTERNAL_DATA
    with _LOCK:
        if _NO_EXTERNAL_DATA is None:
            _NO_EXTERNAL_DATA = tempfile.mkdtemp(prefix="simdask-onnx-")
            atexit.register(shutil.rmtree, _NO_EXTERNAL_DATA, True)
        return _NO_EXTERNAL_DATA


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
                log.warning(
                    "ONNX model declared for %s but onnxruntime has no CUDA here: running on the CPU", spec.device
                )
        options = ort.SessionOptions()
        options.add_session_config_entry("session.model_external_initializers_file_folder_path", _empty_folder())
        self._session = ort.InferenceSession(blob, sess_options=options, providers=providers)
        self._inputs = [i.name for i in self._session.get_inputs()]

    def run(self, inputs: list[np.ndarray], function: str = "") -> list[np.ndarray]:
        if len(inputs) != len(self._inputs):
            raise ValueError(f"the model takes {len(self._inputs)} inputs {self._inputs}, got {len(inputs)}")
        return list(self._session.run(None, dict(zip(self._inputs, inputs))))
