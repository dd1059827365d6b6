"""Model runtimes: load stored bytes once, run numpy inputs, return numpy outputs.

Each backend module imports its library (torch, onnxruntime) only when a
model of its kind is loaded, so workers without it can serve the others.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ...errors import ModelError
from ...protocol import ModelSpec

__all__ = ["Runner", "load_runner"]


class Runner(Protocol):
    """A loaded model (or script function table) ready to run."""

    device: str

    def run(self, inputs: list[np.ndarray], function: str = "") -> list[np.ndarray]:
        """Outputs for ``inputs`` (``function`` names the script function to call)."""
        ...


def load_runner(spec: ModelSpec, blob: bytes, name: str) -> Runner:
    """Load a stored model or script for running on the device its spec names.

    Anything that goes wrong (a backend not installed, bytes the runtime does
    not take, a model refused by the checks of its backend) is a
    :class:`~simdask.errors.ModelError` naming the model.
    """
    try:
        if spec.backend == "ONNX":
            from .onnx_ import OnnxRunner

            return OnnxRunner(blob, spec)
        from .torch_ import TorchRunner

        return TorchRunner(blob, spec)
    except ImportError as exc:
        extra = "onnx" if spec.backend == "ONNX" else "torch"
        raise ModelError(
            f"{spec.kind} {name!r} needs the {spec.backend} backend, which is not installed here "
            f"({exc}); pip install 'simdask[{extra}]'"
        ) from None
    except ModelError:
        raise
    except Exception as exc:  # the runtime refused the bytes
        text = " ".join(str(exc).split())
        text = text if len(text) <= 500 else text[:500] + " ..."
        label = f"{spec.kind} {name!r}"
        raise ModelError(f"{label} cannot be loaded ({spec.format}): {type(exc).__name__}: {text}") from None
