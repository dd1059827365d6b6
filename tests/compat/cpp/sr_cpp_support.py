"""What the C++ SmartRedis tests share: building and running the test program, TorchScript files.

``tests/compat/conftest.py`` gives the build (``smartredis_native``), the stores and ``sr_env``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from simdask_tests_native import run_program

HERE = Path(__file__).resolve().parent

#: The TorchScript function file of the models case: twice(x) = 2 x.
SCRIPT_SOURCE = "def twice(x):\n    return 2 * x\n"


def build_program(smartredis_native, base: Path) -> Path:
    """sr_cpp_tests.cpp built through ``find_package(smartredis)`` (once per session; unoptimized: it compiles in
    a quarter of the time)."""
    program = base / "sr-cpp-tests" / "sr_cpp_tests"
    if not program.exists():
        smartredis_native.cmake_build(HERE, base / "sr-cpp-tests", "-DCMAKE_BUILD_TYPE=Debug")
    return program


def run_case(program: Path, case: str, env: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess:
    """Run one case of the test program; fail the test with its output unless it passes."""
    proc = run_program([program, case, *args], env, timeout=120)
    assert f"ok {case}" in proc.stdout, proc.stdout + proc.stderr
    return proc


def write_model_files(folder: Path) -> tuple[Path, Path]:
    """A TorchScript model y = 3 x + 1 (torch.jit.save) and a script file with ``twice``, in ``folder``."""
    import torch

    class Linear(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 3 * x + 1

    model = folder / "linear.pt"
    torch.jit.save(torch.jit.script(Linear()), str(model))
    script = folder / "twice.py"
    script.write_text(SCRIPT_SOURCE)
    return model, script
