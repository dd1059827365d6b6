"""Runs from real MPI jobs (issue 10): examples/mpi's C and Fortran simulations, run twice into one store.

Each job (``mpirun -np 3``) writes one run with no code for it; a watch started before the second job's
ranks yields only the second run's steps; the C and the Fortran program open to the same Dataset; a
killed rank fails the watch with an error naming it, well before the watch's own timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from simdask_tests_native import native_env

import simdask
from simdask import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mpi"
RANKS = 3
STEPS = 4
TEMPLATE = "theta_{step:d}_{rank:d}"

pytestmark = pytest.mark.skipif(
    shutil.which("mpirun") is None or shutil.which("mpicc") is None,
    reason="no MPI (make test installs Debian's openmpi-bin and libopenmpi-dev when it runs as root)",
)


@pytest.fixture(scope="module")
def heat(native_fortran, tmp_path_factory):
    build = tmp_path_factory.mktemp("heat")
    native_fortran.cmake_build(EXAMPLE, build)
    return {"c": build / "heat_c", "fortran": build / "heat_f"}


def _job(program: Path, address: str, cwd: Path, *, pause: float = 0.05, offset: float = 0.0, **env: str):
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    command = ["mpirun", "-np", str(RANKS), "--oversubscribe", *root, "--bind-to", "none", str(program)]
    return subprocess.Popen(
        [*command, str(STEPS), str(pause), str(offset)],
        cwd=cwd,
        env=native_env(address, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(job: subprocess.Popen) -> None:
    out, err = job.communicate(timeout=120)
    assert job.returncode == 0, out + err


def _expected(offset: float) -> np.ndarray:
    """theta(step, z, x) as examples/mpi computes it, whatever the language and decomposition."""
    step, z, x = np.meshgrid(np.arange(STEPS), np.arange(6), np.arange(20), indexing="ij")
    return offset + 280.0 + step + 0.1 * z + 0.001 * x


@pytest.mark.parametrize("language", ["c", "fortran"])
def test_a_watch_started_before_the_second_job_yields_only_its_run(heat, language, tmp_path):
    with Store() as store:
        _finish(_job(heat[language], store.address, tmp_path, offset=0.0))
        watching = simdask.watch(TEMPLATE, store.address, timeout=60, interval=0.05)  # before the ranks
        second = _job(heat[language], store.address, tmp_path, pause=0.2, offset=1000.0)
        seen = [ds for ds in watching]
        _finish(second)
        assert [int(ds.step[0]) for ds in seen] == list(range(STEPS))
        steps = xr.concat(seen, "step")
        np.testing.assert_array_equal(steps.theta.values, _expected(1000.0))
        with simdask.Client(store.address) as client:
            runs = client.runs()
        assert [(info.number, info.state, info.writers) for info in runs] == [(1, "ended", 3), (2, "ended", 3)]
        assert all(info.run_id.startswith("ompi:") for info in runs)
        np.testing.assert_array_equal(simdask.open_dataset(TEMPLATE, store.address).theta.values, _expected(1000.0))
        first = simdask.open_dataset(TEMPLATE, store.address, run=1)
        np.testing.assert_array_equal(first.theta.values, _expected(0.0))


def test_the_c_and_the_fortran_job_open_to_the_same_dataset(heat, tmp_path):
    with Store() as store:
        _finish(_job(heat["c"], store.address, tmp_path))
        _finish(_job(heat["fortran"], store.address, tmp_path))
        from_c = simdask.open_dataset(TEMPLATE, store.address, run=1).compute()
        from_fortran = simdask.open_dataset(TEMPLATE, store.address, run=2).compute()
    xr.testing.assert_identical(from_c, from_fortran)
    assert from_c.theta.dims == ("step", "z", "x")
    assert from_c.theta.attrs == {"units": "K", "long_name": "potential temperature"}
    np.testing.assert_array_equal(from_c.time.values, 0.5 * np.arange(STEPS))
    np.testing.assert_array_equal(from_c.x.values, 100.0 * np.arange(20))
    np.testing.assert_array_equal(from_c.theta.values, _expected(0.0))


@pytest.mark.parametrize("language", ["c", "fortran"])
def test_a_killed_rank_fails_the_watch_naming_it(heat, language, tmp_path):
    with Store() as store:
        watching = simdask.watch(TEMPLATE, store.address, timeout=60, interval=0.05)
        job = _job(heat[language], store.address, tmp_path, HEAT_HANG_RANK="1")
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "pid.1").exists() or not (tmp_path / "pid.1").read_text().strip():
                assert time.monotonic() < deadline and job.poll() is None, job.stderr.read() if job.poll() else ""
                time.sleep(0.05)
            victim = int((tmp_path / "pid.1").read_text())
            first = next(watching)  # the run is under way
            assert int(first.step[0]) == 0
            with simdask.Client(store.address) as client:  # wait until the other ranks have ended their part
                while client.run_info(1).ended < RANKS - 1:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            os.kill(victim, signal.SIGKILL)
            with pytest.raises(simdask.errors.RunFailedError, match=rf"writer 1 \(pid {victim} on .*\) is gone"):
                list(watching)
        finally:
            job.kill()
            job.communicate(timeout=60)


def test_the_example_script_runs_both_runs(heat, tmp_path):
    env = native_env(None)
    script = EXAMPLE / "two_runs.py"
    done = subprocess.run(
        [sys.executable, str(script), str(heat["fortran"])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run 1 (ompi:" in done.stdout and "run 2 (ompi:" in done.stdout
