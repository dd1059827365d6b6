"""Experiments on a real single-node Slurm (scripts/slurm-up.sh): batch jobs, job steps, a SLURMCluster.

Nothing here is mocked: sbatch, srun, squeue and scancel are Slurm's. Every
test ends with Slurm's queue empty.
"""

from __future__ import annotations

import _thread
import os
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from distributed import Client as DaskClient
from experiment_helpers import APP, app, needs_jobqueue, squeue_left

import simdask
from simdask.errors import JobFailedError, StoreStartError
from simdask.experiment import Status

pytestmark = pytest.mark.usefixtures("slurm")


@pytest.fixture
def exp(tmp_path):
    experiment = simdask.Experiment("slurm", exp_path=tmp_path / "exp", launcher="slurm")
    yield experiment
    experiment.stop()
    assert squeue_left() == []


def test_store_model_and_ensemble_as_batch_jobs(exp):
    store = exp.create_store(interface="lo")
    sim = exp.create_model("sim", *app("exchange", "y"), tasks_per_node=2, walltime="00:05:00")
    ens = exp.create_ensemble("ens", {"nu": [1, 2]}, exe=app()[0], args=app("exchange", "y")[1])
    exp.start(store)
    assert exp.get_status(store) == [Status.RUNNING]
    with simdask.Client(store.address) as client:
        client.put_tensors({"x": np.arange(3.0), "ens_0.x": np.array([1.0]), "ens_1.x": np.array([10.0])})
        exp.start(sim, ens)
        assert exp.wait(timeout=120) == {"sim": Status.COMPLETED, "ens_0": Status.COMPLETED, "ens_1": Status.COMPLETED}
        np.testing.assert_array_equal(client.get_tensor("y"), 2 * np.arange(3.0))  # rank 0
        np.testing.assert_array_equal(client.get_tensor("y1"), 2 * np.arange(3.0) + 1)  # rank 1, through srun
        assert client.get_tensor("ens_0.y")[0] == 2.0 and client.get_tensor("ens_1.y")[0] == 20.0
    script = (sim.path / "sim.sh").read_text()
    assert "#SBATCH --ntasks-per-node=2" in script and "#SBATCH --time=00:05:00" in script
    assert "srun --nodes=1 --ntasks=2 --ntasks-per-node=2" in script
    rows = exp.summary()
    assert all(row.job_id.isdigit() for row in rows)
    assert rows.row("sim").started is not None and rows.row("sim").ended >= rows.row("sim").started
    exp.stop()
    assert exp.get_status(store) == [Status.CANCELLED]


@needs_jobqueue
def test_slurm_cluster_of_two_workers_computes_on_store_data(exp):
    store = exp.create_store(interface="lo")
    dask = exp.create_dask_cluster(workers=2, interface="lo", dashboard_address="127.0.0.1:0", walltime="00:10:00")
    exp.start(store, dask)
    client = dask.get_client(timeout=60)
    assert len(dask.job_ids()) == 2
    assert dask.cluster.scheduler_address.startswith("tls://127.0.0.1:")  # mutual TLS, bound to the interface
    assert all(w.startswith("tls://127.0.0.1:") for w in client.scheduler_info()["workers"])  # batch workers too
    with pytest.raises((OSError, TimeoutError)):
        DaskClient(dask.cluster.scheduler_address.replace("tls://", "tcp://"), timeout=3)
    script = dask.cluster.job_script()
    assert "--tls-key" in script and "BEGIN" not in script  # certificates by path (0600, run directory)
    assert set(client.run(lambda: os.environ["SIMDASK_ADDRESS"]).values()) == {store.address}
    with simdask.Client(store.address) as sd:
        sd.put_tensors({f"part{i}": np.full(100, i, dtype=np.float64) for i in range(6)})

    def total(name):
        return float(simdask.Client().get_tensor(name).sum())

    assert sum(client.gather(client.map(total, [f"part{i}" for i in range(6)]))) == 1500.0
    logs = sorted(p.name for p in (dask.path / "logs").iterdir())
    assert len(logs) == 4  # dask-<job>.out/.err of each worker job, under the experiment
    exp.stop()
    assert squeue_left() == []
    assert exp.get_status(dask) == [Status.CANCELLED]


def test_store_off_loopback_gets_a_password_its_jobs_read_from_a_file(exp, monkeypatch, non_loopback_ipv4):
    host = non_loopback_ipv4
    monkeypatch.delenv("SIMDASK_PASSWORD", raising=False)
    store = exp.create_store(interface=host)
    sim = exp.create_model("sim", *app("exchange", "y"))
    exp.start(store)
    password = store.password
    assert password and store.address.startswith(f"{host}:")
    with simdask.Client(store.address, password=password) as client:
        client.put_tensor("x", np.arange(3.0))
        exp.start(sim)
        assert exp.wait(sim, timeout=120) == {"sim": Status.COMPLETED}
        np.testing.assert_array_equal(client.get_tensor("y"), 2 * np.arange(3.0))
    for path in exp.exp_path.rglob("*"):
        if path.is_file() and path.name not in ("password", "server.conf"):
            assert password not in path.read_text(errors="replace"), path
    assert password not in str(exp.summary())


def test_failure_outside_cancellation_and_ctrl_c(exp):
    bad = exp.create_model("bad", *app("fail"))
    victim = exp.create_model("victim", *app("sleep", 60))
    exp.start(bad, victim)
    with pytest.raises(JobFailedError, match="exit status 3") as info:
        exp.wait(bad, timeout=60)
    assert "the solver diverged at step 7" in str(info.value)
    job_id = exp.summary().row("victim").job_id
    subprocess.run(["scancel", job_id], check=True)  # cancelled outside simdask
    assert exp.wait(victim, timeout=60) == {"victim": Status.CANCELLED}

    exp.create_store(interface="lo")
    sleeper = exp.create_model("sleeper", *app("sleep", 60))
    exp.start(sleeper)  # starts the store first
    threading.Timer(1.0, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        exp.wait(timeout=60)
    assert squeue_left() == []
    assert exp.get_status(sleeper) == [Status.CANCELLED]


def test_ctrl_c_while_the_store_is_queued(exp):
    store = exp.create_store(interface="lo", directives=["--begin=now+120"])  # pending: start() waits for it
    sim = exp.create_model("sim", *app("sleep", 30))
    threading.Timer(1.0, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        exp.start()
    assert exp.get_status(store, sim) == [Status.CANCELLED, Status.NEW]
    assert squeue_left() == []


def test_store_on_a_taken_port_fails_before_the_model_launches(exp):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        exp.create_store(interface="lo", port=taken.getsockname()[1])
        sim = exp.create_model("sim", *app("sleep", 30))
        with pytest.raises(StoreStartError, match="already in use"):
            exp.start()
    assert exp.get_status(sim) == [Status.NEW]
    assert squeue_left() == []


def test_colocated_store_on_every_node_of_an_mpi_model(exp):
    sim = exp.create_model("sim", *app("roundtrip", "u"), tasks_per_node=2)
    store = exp.create_store(kind="colocated", model=sim)
    exp.start(sim, block=True, timeout=120)
    out = (sim.path / "sim.out").read_text()
    assert f"rank 0 on {store.address}: ok" in out and f"rank 1 on {store.address}: ok" in out
    assert "--job-name=simdask-sim_store" in (sim.path / "sim.sh").read_text()  # a job step, one task per node
    assert not os.path.exists(store.socket_path)


def test_inside_an_allocation_entities_are_job_steps(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(f"""
import sys
import numpy as np
import simdask
exp = simdask.Experiment("steps", exp_path={str(tmp_path / "exp")!r}, launcher="auto")
store = exp.create_store(interface="lo")
sim = exp.create_model("sim", sys.executable, [{str(APP)!r}, "exchange", "y"])
with exp:
    exp.start(store)
    client = simdask.Client(store.address)
    client.put_tensor("x", np.ones(2))
    exp.start(sim, block=True, timeout=60)
    print(type(exp._launcher).__name__, client.get_tensor("y").tolist())
""")
    out = tmp_path / "driver.out"
    job = subprocess.run(
        ["sbatch", "--parsable", "--ntasks=3", f"--output={out}", "--wrap", f"{sys.executable} {driver}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deadline = time.monotonic() + 120
    while subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True).stdout.strip():
        assert time.monotonic() < deadline, out.read_text() if out.exists() else "no output"
        time.sleep(0.2)
    assert "SlurmStepLauncher [2.0, 2.0]" in out.read_text(), out.read_text()
    store_script = (tmp_path / "exp" / "store" / "store.sh").read_text()
    assert "srun --nodes=1 --ntasks=1 --overlap" in store_script and "#SBATCH" not in store_script
    assert squeue_left() == []
