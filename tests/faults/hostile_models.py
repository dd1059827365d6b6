"""Hostile stored models and scripts, each with a payload that would create a marker file if it ran.

Every payload is checked live by the tests first (unpickling it, or loading it with the library that
would, does create the file), so that a refusal by simdask proves something.
"""

from __future__ import annotations

import io
import pickle
import zipfile

import torch

PLACEHOLDER = "/simdask-test-placeholder/marker-path"


class _CreateFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def evil_pickle(marker: str) -> bytes:
    """A pickle whose loading creates ``marker``."""
    return pickle.dumps(_CreateFile(marker), protocol=2)


class Tiny(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1


class WritesOnLoad(torch.nn.Module):
    """A TorchScript module whose ``__setstate__`` (run by ``torch.jit.load``) writes a file."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.zeros(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.w

    @torch.jit.export
    def __getstate__(self) -> tuple[torch.Tensor, bool]:
        return (self.w, self.training)

    @torch.jit.export
    def __setstate__(self, state: tuple[torch.Tensor, bool]) -> None:
        self.w = state[0]
        self.training = state[1]
        torch.save(self.w, "/simdask-test-placeholder/marker-path")


def _rewrite(archive: bytes, change) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info)))
    return out.getvalue()


def torchscript_bytes(module: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buffer)
    return buffer.getvalue()


def torchscript_with_pickle(marker: str, member: str) -> bytes:
    """A real TorchScript archive whose ``member`` (``data.pkl``, ``constants.pkl``) is a hostile pickle."""
    return _rewrite(
        torchscript_bytes(Tiny()), lambda name, data: evil_pickle(marker) if name.endswith("/" + member) else data
    )


def torchscript_writing_on_load(marker: str) -> bytes:
    """A TorchScript archive whose ``__setstate__`` writes ``marker`` when loaded."""
    return _rewrite(
        torchscript_bytes(WritesOnLoad()), lambda name, data: data.replace(PLACEHOLDER.encode(), marker.encode())
    )


def pt2_with_pickle(marker: str) -> bytes:
    """A real ``torch.export`` archive whose sample inputs are a hostile pickle (torch.export.load unpickles
    them, falling back to ``weights_only=False``)."""
    program = torch.export.export(Tiny(), (torch.zeros(2),))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return _rewrite(buffer.getvalue(), lambda name, data: evil_pickle(marker) if "sample_inputs" in name else data)
