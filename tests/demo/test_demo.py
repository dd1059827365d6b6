"""``simdask demo`` as a user runs it (a short form): what it writes, that its steering was obeyed, and that
nothing it started outlives it, also after Ctrl-C.

Each test runs the demo as its own process group, the way a terminal runs
it, so that Ctrl-C reaches it as it would there (the whole group). Every
process the demo starts inherits a marker variable; a process that carries
it, or that runs in the demo's output folder (the store's server rewrites
its environment), after the demo ended was left behind.
"""

from __future__ import annotations

import csv
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import psutil
import pytest
import xarray as xr

from simdask.demo.surrogate import choose_backend

MARKER = "DEMO_TEST_MARKER"  # not a simdask variable: only this test reads it


class Demo:
    """``python -m simdask demo ARGS`` in a process group of its own, its output read line by line.

    Start it with the ``start_demo`` fixture, which stops it after the test
    whatever happened (a failed assertion).
    """

    def __init__(self, out: Path, *args: str) -> None:
        self.out = out
        self.marker = uuid.uuid4().hex
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "simdask", "demo", "--out", str(out), *args],
            env={**os.environ, MARKER: self.marker},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def stop(self) -> None:
        """Ctrl-C if it still runs, then SIGKILL to its group if it does not end within a minute."""
        if self.proc.poll() is None:
            self.interrupt()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 240) -> str:
        """The first line (from now) matching ``pattern``; fails when the demo ends or is silent that long."""
        end = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                self.interrupt()
                pytest.fail(f"no {pattern!r} from the demo within {timeout} s:\n{self.text}")
            if line is None:
                pytest.fail(f"the demo ended (exit {self.proc.wait()}) before {pattern!r}:\n{self.text}")
            self.lines.append(line)
            if re.search(pattern, line):
                return line

    def finish(self, timeout: float = 300) -> int:
        """Its exit status, once it ended and printed everything."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.interrupt()
            pytest.fail(f"the demo did not end within {timeout} s:\n{self.text}")
        while (line := self._queue.get(timeout=30)) is not None:
            self.lines.append(line)
        return code

    def interrupt(self) -> None:
        """Ctrl-C, as a terminal sends it: to the whole process group."""
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def running(self) -> list[psutil.Process]:
        """The processes it started that run now (itself excluded)."""
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.pid == self.proc.pid:
                    continue
                if proc.environ().get(MARKER) == self.marker or Path(proc.cwd()).is_relative_to(self.out):
                    found.append(proc)
            except psutil.Error:  # gone, or not ours to look at
                continue
        return found

    def assert_nothing_left(self) -> None:
        deadline = time.monotonic() + 5  # a killed process may take a moment to be reaped
        while (left := self.running()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, [" ".join(p.cmdline()) for p in left]


@pytest.fixture
def start_demo():
    """``start_demo(out, *args)``: a :class:`Demo`, stopped after the test."""
    started: list[Demo] = []

    def start(out: Path, *args: str) -> Demo:
        started.append(Demo(out, *args))
        return started[-1]

    yield start
    for demo in started:
        demo.stop()


def _names(processes: list[psutil.Process]) -> str:
    return " ".join(" ".join(p.cmdline()) for p in processes)


def _build_args(demo_build: tuple[Path, Path | None, dict]) -> list[str]:
    build_dir, prefix, _ = demo_build
    return ["--build-dir", str(build_dir), *(["--clients-prefix", str(prefix)] if prefix else [])]


def _rows(path: Path, simulation: str) -> list[dict[str, str]]:
    with path.open() as f:
        return [row for row in csv.DictReader(f) if row["simulation"] == simulation]


def test_demo_writes_its_report_the_simulations_obey_and_keep_up_holds_until_ctrl_c(tmp_path, demo_build, start_demo):
    pytest.importorskip("matplotlib")
    from PIL import Image

    out = tmp_path / "out"
    demo = start_demo(out, "--steps", "30", "--size", "24", "--pause-ms", "40", "--keep-up", *_build_args(demo_build))
    line = demo.wait_for("everything stays up until Ctrl-C")
    text = demo.text
    dashboard = re.search(r"Dask dashboard (http://\S+),", line).group(1)
    with urllib.request.urlopen(dashboard, timeout=30) as page:
        assert page.status == 200
    assert "valkey-server" in _names(demo.running())  # the run is over, what is up stays up

    # what ran: the C and Fortran programs where the session built their clients
    if demo_build[1] is not None:
        assert "C: heat2d_c, built against the clients in" in text
    headed = (re.match(r"([a-z]+(?: [a-z]+)?) {2,}\S", line) for line in text.splitlines())
    summary = {match.group(1): match.string for match in headed if match}
    for heading in ("simulations", "steps", "data", "throughput", "steering", "dashboard", "wall time", "output"):
        assert heading in summary, text
    assert "30 per simulation on a 24 x 24 grid" in summary["steps"]
    assert re.search(r"C: \d+\.\d+ MB to the store, \d+\.\d+ MB back", summary["data"])
    assert re.search(r"C: \d+\.\d+ steps/s", summary["throughput"])
    if choose_backend().name is not None:
        assert re.search(r"p50 \d+\.\d+ ms, p99 \d+\.\d+ ms \(60 calls\)", summary["inference"]), text  # 2 ranks
        assert re.search(r"model:cooling served \d+ times on cpu by loop", text)
        assert "trained on worker" in summary["models"]

    # the files: PNGs that decode, the zarr archives with every step, the HTML linking them
    pngs = sorted(out.glob("*.png"))
    assert {p.name for p in pngs} >= {"fields.png", "diagnostics.png"}
    for png in pngs:
        with Image.open(png) as image:
            image.load()
            assert image.size[0] > 300 and image.size[1] > 200
    page = (out / "report.html").read_text()
    for png in pngs:
        assert f'src="{png.name}"' in page
    for language in ("c", "fortran"):
        assert f'href="heat_{language}.zarr"' in page
        archive = xr.open_zarr(out / f"heat_{language}.zarr")
        assert archive.T.dims == ("step", "y", "x") and archive.T.shape == (30, 24, 24)
        assert archive.step.values.tolist() == list(range(30))
        assert float(archive.T.isel(step=-1).max()) > 0  # the heater heated

        # steering: every heating the simulation recorded using (a coordinate it wrote each step) is the initial
        # one or one the analysis sent, and it changed during the run
        used = np.broadcast_to(archive.heating.values, (30,))
        sent = np.array([float(row["heating_sent"]) for row in _rows(out / "steering.csv", language.capitalize())])
        assert used[0] == 20.0 and len(set(used.tolist())) > 1, used
        for value in used[1:]:
            assert value == 20.0 or np.isclose(sent, value, rtol=1e-5).any(), (value, sent)
        recorded = _rows(out / "steps.csv", language.capitalize())
        assert [int(row["step"]) for row in recorded] == list(range(30))

    demo.interrupt()
    assert demo.finish(timeout=60) == 0, demo.text
    assert "Ctrl-C: stopping everything, as asked" in demo.text
    demo.assert_nothing_left()


def test_ctrl_c_during_the_run_stops_everything(tmp_path, demo_build, start_demo):
    args = ["--steps", "2000", "--size", "24", "--pause-ms", "50", *_build_args(demo_build)]
    demo = start_demo(tmp_path / "out", *args)
    demo.wait_for(r"^ +(C|Fortran) step +\d+: mean T")  # the simulations run and the analysis steers them
    started = demo.running()
    assert "valkey-server" in _names(started) and "spawn_main" in _names(started)  # the store, Dask workers
    if demo_build[1] is not None:
        assert "mpirun" in _names(started) and "heat2d_c" in _names(started)
    demo.interrupt()
    assert demo.finish(timeout=60) == 130, demo.text
    assert "Ctrl-C: stopping everything" in demo.text
    demo.assert_nothing_left()


def test_the_c_and_fortran_programs_and_the_python_stand_in_compute_the_same_plate(demo_build, standalone_store):
    from simdask_tests_native import native_env

    from simdask import Client, open_dataset
    from simdask.demo.analysis import CONCAT, TEMPLATE

    control = f"control_{uuid.uuid4().hex[:8]}"
    with Client(standalone_store.address) as client:
        client.put_tensor(control, np.array([150.0, 0.0, 1e9]))  # heating 150, exact cooling, never wait
    args = ["20", "12", "6", "2.0", "3", control, "-", "0", "8"]  # NX NY STEPS EPS SAMPLE_EVERY CONTROL MODEL ...
    commands = {"Python": [sys.executable, "-m", "simdask.demo.standin", *args]}
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    for language, program in demo_build[2].items():
        if program.path is not None:
            mpirun = ["mpirun", "-np", "2", "--oversubscribe", "--bind-to", "none", *root]
            commands[language] = [*mpirun, str(program.path), *args]
    plates = {}
    for language, command in commands.items():
        run_id = f"demo-test.{language}.{uuid.uuid4().hex[:8]}"
        env = native_env(standalone_store.address, SIMDASK_RUN_ID=run_id)
        proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        plates[language] = open_dataset(TEMPLATE, standalone_store.address, run=run_id, concat=CONCAT).compute()
    python = plates.pop("Python")
    assert python.T.dims == ("step", "y", "x") and python.T.shape == (6, 12, 20)
    assert float(python.T.isel(step=-1).max()) > 0.1 and np.all(python.heating.values == 150.0)
    for language, plate in plates.items():  # split over 2 ranks, in C or Fortran order: the same plate
        assert plate.T.attrs["language"] == language
        np.testing.assert_allclose(plate.T.values, python.T.values, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(plate.y.values, python.y.values)
        np.testing.assert_allclose(plate.time.values, python.time.values)
