"""What the Fortran SmartRedis tests share: the test program, running its cases, TorchScript files.

``tests/compat/conftest.py`` gives the build (``smartredis_fortran``), the stores and ``sr_env``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from simdask_tests_native import run_program

HERE = Path(__file__).resolve().parent

#: The script of the model cases: twice(x) = 2 x.
SCRIPT_SOURCE = "def twice(x):\n    return 2 * x\n"


def build_program(smartredis_fortran, base: Path) -> Path:
    """sr_f_tests.F90 built through ``find_package(smartredis)`` (once per session)."""
    program = base / "sr-f-tests" / "sr_f_tests"
    if not program.exists():
        smartredis_fortran.cmake_build(HERE, base / "sr-f-tests")
    return program


def run_case(program: Path, case: str, env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess:
    """Run one case of the test program; fail the test with its output unless it passes."""
    proc = run_program([program, case, *map(str, args)], env, timeout=120)
    assert f"PASSED {case}" in proc.stdout, proc.stdout + proc.stderr
    return proc


def write_model_files(folder: Path) -> tuple[Path, Path]:
    """(a TorchScript file of y = 2 x, a script file with ``twice``) in ``folder``."""
    import torch

    class Double(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    model = folder / "double.pt"
    torch.jit.save(torch.jit.script(Double()), str(model))
    script = folder / "ops.py"
    script.write_text(SCRIPT_SOURCE)
    return model, script


def reference(kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """What sr_f_roundtrip.inc writes: element i (1-based, Fortran order) = f(3 i - 7)."""
    i = np.arange(1, int(np.prod(shape)) + 1)
    v = i * 3 - 7
    values = {
        "float": v.astype(np.float32) * np.float32(0.5),
        "double": v * 0.25,
        "i8": v.astype(np.int8),
        "i16": (v * 100).astype(np.int16),
        "i32": (v * 1000).astype(np.int32),
        "i64": v.astype(np.int64) * 10**10,
    }[kind]
    return values.reshape(shape, order="F")
