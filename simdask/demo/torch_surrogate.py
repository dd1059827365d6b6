"""The demo's surrogate in torch: a small network for R(T), fitted with L-BFGS, stored as TorchScript.

Imported only where torch is installed (:mod:`simdask.demo.surrogate` picks it).
"""

from __future__ import annotations

import io

import numpy as np
import torch

__all__ = ["Fitter", "Surrogate"]


class Surrogate(torch.nn.Module):
    """R(T) for a field of any shape, point by point: one hidden layer of 16 tanh units on T / t_scale."""

    def __init__(self, t_scale: float, r_scale: float) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
        self.t_scale = t_scale
        self.r_scale = r_scale

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        y = self.net(t.reshape(-1, 1) / self.t_scale) * self.r_scale
        return y.reshape(t.shape)


class Fitter:
    """One network, refined by every :meth:`fit` (warm start), stored by :meth:`blob`.

    Each fit scales inputs and outputs by the samples' largest T and R, so the
    network always learns the same curve on [0, 1] (R is a power of T) and
    starts from the last fit however far the temperatures have grown.
    """

    def __init__(self, eps: float) -> None:
        torch.manual_seed(0)
        self.model = Surrogate(1.0, eps)

    def fit(self, t: np.ndarray, r: np.ndarray) -> float:
        """Fit to the samples ``(t, r)``; the relative RMS error on them after."""
        x = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32))
        y = torch.from_numpy(np.ascontiguousarray(r, dtype=np.float32))
        self.model.t_scale = max(float(x.abs().max()), 1e-6)
        self.model.r_scale = max(float(y.abs().max()), 1e-12)
        scale = float(y.square().mean().sqrt().clamp_min(1e-12))
        optimizer = torch.optim.LBFGS(
            self.model.parameters(),
            max_iter=60,
            history_size=20,
            tolerance_grad=1e-10,
            tolerance_change=1e-14,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = ((self.model(x) - y) / scale).square().mean()
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            return float(((self.model(x) - y).square().mean().sqrt() / scale).item())

    def blob(self) -> bytes:
        """The network as TorchScript bytes (``set_model(..., "TORCH")``)."""
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.script(self.model), buffer)
        return buffer.getvalue()
