"""examples/smartredis/fortran: the SmartSim-style Fortran simulation, built through find_package(smartredis)
(with MPI when CMake finds it) and run with ``mpirun -np 2`` against a store with its own serving loop, and built
serially through ``pkg-config smartredis-fortran``."""

from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest
from simdask_tests_native import ROOT, run_program

import simdask

EXAMPLE = ROOT / "examples" / "smartredis" / "fortran"
OUTPUTS = 4  # steps 25, 50, 75, 100


def _mpirun(ranks: int) -> list[str]:
    root = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    return ["mpirun", "-np", str(ranks), "--oversubscribe", *root, "--bind-to", "none"]


@pytest.fixture(scope="module")
def example_store():
    """A store with its own serving loop for the MPI run alone (its keys and list stay apart from the other
    tests'); the ranks write SmartRedis's plain key names (no run: docs/smartredis.md)."""
    pytest.importorskip("torch", reason="serving loops need torch (pip install 'simdask[torch]')")
    with simdask.Store("standalone", serve=1) as store:
        yield store


def test_example_with_mpi_and_a_model(smartredis_fortran, example_store, sr_f_model_files, sr_f_env):
    build = smartredis_fortran.base / "sr-f-example"
    if not (build / "ocean_sim").exists():
        smartredis_fortran.cmake_build(EXAMPLE, build)
    flags = build / "CMakeFiles" / "ocean_sim.dir" / "flags.make"  # -DUSE_MPI when CMake found MPI for Fortran
    mpi = shutil.which("mpirun") is not None and "-DUSE_MPI" in flags.read_text()
    ranks = 2 if mpi else 1
    command = [*(_mpirun(ranks) if mpi else []), build / "ocean_sim", sr_f_model_files[0]]
    proc = run_program(command, sr_f_env(example_store), timeout=180)
    for rank in range(ranks):
        assert f"rank {rank} of {ranks}: done" in proc.stdout, proc.stdout
    with simdask.Client(example_store.address) as client:
        names = sorted(ds.name for ds in client.get_datasets_from_list("ocean_states"))
        assert names == sorted(f"state_rank{r}_step{s}" for r in range(ranks) for s in (25, 50, 75, 100))
        for rank in range(ranks):
            field = client.get_tensor(f"T_rank{rank}")
            assert field.shape == (32, 16)
            np.testing.assert_allclose(client.get_tensor(f"T_pred_rank{rank}"), 2 * field)
        last = client.get_dataset("state_rank0_step100")
        np.testing.assert_array_equal(last.get_tensor("T"), client.get_tensor("T_rank0"))
        assert last.get_meta_scalars("time").tolist() == [10.0]
        assert last.get_meta_scalars("step").tolist() == [100]


def test_example_built_through_pkg_config(smartredis_fortran, sr_store, sr_f_env, tmp_path):
    """The serial build a Makefile user makes: gfortran $(pkg-config --cflags --libs smartredis-fortran)."""
    program = tmp_path / "ocean_sim"
    flags = smartredis_fortran.pkg_config("--cflags", "--libs", "smartredis-fortran")
    subprocess.run(
        [
            "gfortran",
            EXAMPLE / "ocean_sim.F90",
            *flags,
            f"-Wl,-rpath,{smartredis_fortran.prefix / 'lib'}",
            "-o",
            program,
        ],
        env=smartredis_fortran.env,
        check=True,
        capture_output=True,
    )
    with simdask.Client(sr_store.address) as client:
        client.delete_list("ocean_states")
    proc = run_program([program], sr_f_env(sr_store))
    assert "rank 0 of 1: done" in proc.stdout
    with simdask.Client(sr_store.address) as client:
        assert client.get_list_length("ocean_states") == OUTPUTS
