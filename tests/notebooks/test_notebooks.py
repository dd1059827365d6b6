"""The notebooks of examples/notebooks, executed headless (nbclient) against real stores, as a user would run them.

Each runs in a fresh kernel of this test's Python (a kernelspec written into
a temporary Jupyter path, so no installed ``python3`` kernel is picked up),
with the notebooks' folder as its working directory. What a notebook starts
must be stopped by its last cell: after that cell the kernel has no child
process left (the ``multiprocessing`` resource tracker aside, which leaves
with the kernel), and nothing it had started outlives it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import psutil
import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install -e .[notebooks]")
nbclient = pytest.importorskip("nbclient", reason="pip install -e .[notebooks]")
pytest.importorskip("ipykernel", reason="pip install -e .[notebooks]")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
KERNEL = "simdask-notebook-test"
#: Seconds one cell may take (a cold C build included); the notebooks take a few seconds each.
CELL_TIMEOUT_S = 300


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_are_there() -> None:
    names = [path.name for path in _notebooks()]
    assert names == ["01_coupled_run.ipynb", "02_online_training.ipynb", "03_c_fortran_first_session.ipynb"]


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec running this interpreter's ipykernel."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    return KERNEL


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _left(processes: list[psutil.Process]) -> list[str]:
    described = []
    for proc in processes:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                described.append(f"{proc.pid} {' '.join(proc.cmdline())[:200]}")
        except psutil.NoSuchProcess:
            pass
    return described


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs_and_leaves_nothing_running(path: Path, kernel: str) -> None:
    nb = nbformat.read(path, as_version=4)
    started: dict[int, psutil.Process] = {}
    at_end: list[str] = []
    last = max(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")

    def on_cell_executed(cell: Any, cell_index: int, **_: Any) -> None:
        pid = runner.km.provisioner.process.pid
        for proc in _descendants(pid):
            started.setdefault(proc.pid, proc)
        if cell_index == last:
            alive = [p for p in _descendants(pid) if "resource_tracker" not in " ".join(_cmdline(p))]
            at_end.extend(_left(alive))

    runner = nbclient.NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
        on_cell_executed=on_cell_executed,
    )
    runner.execute()
    assert not at_end, f"{path.name}: still running after its last cell: {at_end}"
    gone, alive = psutil.wait_procs(list(started.values()), timeout=10)
    assert not _left(alive), f"{path.name}: outlived its kernel: {_left(alive)}"
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.NoSuchProcess:
        return []
