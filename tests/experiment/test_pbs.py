"""The PBS launcher and a PBSCluster for real, through Debian's slurm-wlm-torque (qsub/qstat/qdel over Slurm).

Those wrappers are not a PBS server: job-script text and the parsing of a
real PBS's ``qstat`` are tested on captured output (test_launcher_parsing.py,
test_descriptions.py); here the commands, the flow and the cleanup are real.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from experiment_helpers import app, needs_jobqueue, squeue_left

import simdask
from simdask.errors import JobFailedError
from simdask.experiment import Status

pytestmark = [
    pytest.mark.usefixtures("slurm"),
    pytest.mark.skipif(shutil.which("qsub") is None, reason="no qsub (slurm-wlm-torque is not installed)"),
]


@pytest.fixture
def exp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the wrappers ignore #PBS -o: dask-jobqueue's worker logs land in the cwd
    experiment = simdask.Experiment("pbs", exp_path=tmp_path / "exp", launcher="pbs")
    yield experiment
    experiment.stop()
    assert squeue_left() == []


def test_store_and_models_through_qsub(exp):
    store = exp.create_store(interface="lo")
    sim = exp.create_model("sim", *app("exchange", "y"), walltime="00:05:00")
    bad = exp.create_model("bad", *app("fail"))
    exp.start(store)
    with simdask.Client(store.address) as client:
        client.put_tensor("x", np.arange(3.0))
        exp.start(sim, bad)
        with pytest.raises(JobFailedError, match="the solver diverged"):
            exp.wait(timeout=60)
        np.testing.assert_array_equal(client.get_tensor("y"), 2 * np.arange(3.0))
    assert exp.get_status(sim, bad) == [Status.COMPLETED, Status.FAILED]
    script = (sim.path / "sim.sh").read_text()
    assert "#PBS -l select=1:ncpus=1:mpiprocs=1\n#PBS -l walltime=00:05:00\n" in script
    assert (sim.path / "sim.out").exists() and (sim.path / "sim.pbs.log").exists()
    exp.stop(store)
    assert exp.get_status(store) == [Status.CANCELLED]  # qdel: killed before it recorded an exit status


@needs_jobqueue
def test_pbs_cluster_of_two_workers(exp):
    store = exp.create_store(interface="lo")
    dask = exp.create_dask_cluster(workers=2, interface="lo", dashboard_address="127.0.0.1:0", walltime="00:10:00")
    exp.start(store, dask)
    client = dask.get_client(timeout=60)
    assert set(client.run(lambda: os.environ["SIMDASK_ADDRESS"]).values()) == {store.address}
    with simdask.Client(store.address) as sd:
        sd.put_tensors({f"part{i}": np.full(10, i, dtype=np.float64) for i in range(4)})

    def total(name):
        return float(simdask.Client().get_tensor(name).sum())

    assert sum(client.gather(client.map(total, [f"part{i}" for i in range(4)]))) == 60.0
    assert len(dask.job_ids()) == 2
    exp.stop()
    assert squeue_left() == []
