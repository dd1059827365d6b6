"""The C and Fortran clients from real MPI programs (``mpirun -np 2``): each rank writes its blocks,
reads its neighbour's, and gets a timeout status from a put while the store is frozen (SIGSTOP),
then works again once it is thawed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from simdask_tests_native import frozen, native_env

from simdask import Client, Store

HERE = Path(__file__).resolve().parent
RANKS = 2

pytestmark = pytest.mark.skipif(
    shutil.which("mpirun") is None or shutil.which("mpicc") is None,
    reason="no MPI (make test installs Debian's openmpi-bin and libopenmpi-dev when it runs as root)",
)


@pytest.fixture(scope="module")
def mpi_programs(native_fortran, tmp_path_factory):
    build = tmp_path_factory.mktemp("mpi")
    native_fortran.cmake_build(HERE, build)
    return {"c": build / "mpi_ranks_c", "fortran": build / "mpi_ranks_f"}


def _mpirun(program: Path) -> list[str]:
    oversubscribe = ["--oversubscribe", "--allow-run-as-root"] if os.geteuid() == 0 else ["--oversubscribe"]
    return ["mpirun", "-np", str(RANKS), *oversubscribe, "--bind-to", "none", str(program)]


def _wait_for_files(folder: Path, base: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not all((folder / f"{base}.{rank}").exists() for rank in range(RANKS)):
        if proc.poll() is not None:
            raise AssertionError(
                f"mpirun exited ({proc.returncode}) before every rank wrote {base}: {proc.stderr.read()}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"not every rank wrote {base} within {timeout} s")
        time.sleep(0.05)


@pytest.mark.parametrize("language", ["c", "fortran"])
def test_mpi_ranks_write_read_and_time_out_on_a_frozen_store(mpi_programs, language, tmp_path):
    prefix = "c" if language == "c" else "f"
    with Store() as store:
        env = native_env(store.address, SIMDASK_IO_TIMEOUT="1", SIMDASK_CONNECT_TIMEOUT="1")
        proc = subprocess.Popen(
            _mpirun(mpi_programs[language]),
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_files(tmp_path, "ready", proc, timeout=120)
            with frozen(store):
                (tmp_path / "frozen").touch()
                _wait_for_files(tmp_path, "done", proc, timeout=30)
            (tmp_path / "thawed").touch()
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, out + err
        assert out.count("frozen put") == RANKS, out
        with Client(store.address) as client:
            for rank in range(RANKS):
                block = client.get_tensor(f"{prefix}.rank{rank}.step1")
                assert block.shape == ((16, 32) if language == "c" else (32, 16))
                flat = block.ravel(order="C" if language == "c" else "F")
                np.testing.assert_array_equal(flat, rank * 1000 + 100 + np.arange(32 * 16))
                assert client.tensor_exists(f"{prefix}.rank{rank}.after")
            # under mpirun both ranks wrote in one run (docs/protocol.md, "Runs", rule 2), ended when they freed
            [run] = client.runs("")
            assert run.run_id.startswith("ompi:") and run.writers == RANKS and run.state == "ended"
            assert client.tensor_key(f"{prefix}.rank0.step1").startswith(f"@{run.number}.")
