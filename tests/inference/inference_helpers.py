"""Real models for the inference tests, and small helpers."""

from __future__ import annotations

import io

import numpy as np
import torch


class MLP(torch.nn.Module):
    """The 64-128-64 MLP of the issue's latency figures."""

    def __init__(self, seed: int = 0, scale: float = 1.0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.l1 = torch.nn.Linear(64, 128)
        self.l2 = torch.nn.Linear(128, 64)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(torch.relu(self.l1(x))) * self.scale


def reference(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def onnx_bytes(model: torch.nn.Module) -> bytes:
    """ONNX export as platform.md says: example batch >= 2, dynamic batch, named input, one blob."""

    buffer = io.BytesIO()
    torch.onnx.export(
        model,
        (torch.zeros(2, 64),),
        buffer,
        input_names=["x"],
        output_names=["y"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
        external_data=False,
    )
    return buffer.getvalue()


def worker_addresses(dask_client) -> dict[str, str]:
    """``{"cpu": address, "gpu": address}`` of the two workers."""
    info = dask_client.scheduler_info()["workers"]
    return {("gpu" if w["resources"].get("GPU") else "cpu"): address for address, w in info.items()}
