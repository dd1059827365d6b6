"""Experiments under the local launcher: real stores, real processes, a real Dask LocalCluster."""

from __future__ import annotations

import _thread
import os
import socket
import threading

import numpy as np
import pytest
from experiment_helpers import alive, app, descendants

import simdask
from simdask.errors import ExperimentTimeoutError, JobFailedError, ServerNotFoundError, StoreStartError
from simdask.experiment import Status


@pytest.fixture
def exp(tmp_path):
    experiment = simdask.Experiment("local", exp_path=tmp_path / "exp", launcher="local")
    yield experiment
    experiment.stop()


def test_store_and_model_exchange_tensors(exp):
    store = exp.create_store()
    sim = exp.create_model("sim", *app("exchange", "y"))
    exp.start(store)
    with simdask.Client(store.address) as client:
        client.put_tensor("x", np.arange(4.0))
        exp.start(sim)
        assert exp.wait(timeout=60) == {"sim": Status.COMPLETED}
        np.testing.assert_array_equal(client.get_tensor("y"), 2 * np.arange(4.0))
    script = (sim.path / "sim.sh").read_text()
    assert f"export SIMDASK_ADDRESS={store.address}" in script
    summary = exp.summary()
    assert [(r.entity, r.kind, r.status, r.returncode) for r in summary] == [
        ("store", "store", Status.RUNNING, None),
        ("sim", "model", Status.COMPLETED, 0),
    ]
    assert summary.row("sim").started <= summary.row("sim").ended
    exp.stop()
    assert exp.get_status(store, sim) == [Status.CANCELLED, Status.COMPLETED]


def test_ensemble_members_keep_their_data_apart(exp):
    store = exp.create_store()
    ens = exp.create_ensemble("ens", {"nu": [1, 2]}, exe=app()[0], args=app("exchange", "y")[1])
    gather = exp.create_model("gather", *app("gather", "total"))
    gather.register_incoming_entity(ens)
    exp.start(store)
    with simdask.Client(store.address) as client:
        client.put_tensors({"ens_0.x": np.array([1.0]), "ens_1.x": np.array([10.0])})
        exp.start(ens, gather, block=True, timeout=60)
        assert client.get_tensor("ens_0.y")[0] == 2.0 and client.get_tensor("ens_1.y")[0] == 20.0
        assert client.get_tensor("total")[0] == 22.0
    assert exp.get_status(ens) == [Status.COMPLETED, Status.COMPLETED]


def test_configured_input_files(exp, tmp_path):
    (tmp_path / "params.in").write_text("nu = ;nu;\n")
    store = exp.create_store()
    ens = exp.create_ensemble("ens", {"nu": [0.25, 0.75]}, exe=app()[0], args=app("param", "params.in")[1])
    ens.attach_generator_files(to_configure=tmp_path / "params.in")
    exp.start(block=True, timeout=60)  # everything: the store first
    with simdask.Client(store.address) as client:
        assert [float(client.get_tensor(f"ens_{i}.nu")) for i in range(2)] == [0.25, 0.75]


def test_failed_model_reports_its_stderr(exp):
    bad = exp.create_model("bad", *app("fail"))
    exp.start(bad)
    with pytest.raises(JobFailedError, match="exit status 3") as info:
        exp.wait(timeout=60)
    assert "the solver diverged at step 7" in str(info.value) and isinstance(info.value, RuntimeError)
    row = exp.summary().row("bad")
    assert row.status == Status.FAILED and row.returncode == 3 and "diverged" in row.error
    assert exp.wait(bad, timeout=5, check=False) == {"bad": Status.FAILED}


def test_store_on_a_taken_port_fails_before_the_model_launches(exp):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        store = exp.create_store(port=taken.getsockname()[1])
        sim = exp.create_model("sim", *app("sleep", 30))
        with pytest.raises(StoreStartError, match="already in use"):
            exp.start()
    assert exp.get_status(store, sim) == [Status.FAILED, Status.NEW]
    assert not (sim.path / "sim.sh").exists()


def test_missing_server_binary_fails_before_anything_launches(exp):
    exp.create_store(binary="/nonexistent/valkey-server")
    sim = exp.create_model("sim", *app("sleep", 30))
    with pytest.raises(ServerNotFoundError):
        exp.start()
    assert exp.poll() == {}
    assert exp.get_status(sim) == [Status.NEW]


def test_stop_leaves_no_process_behind(exp):
    store = exp.create_store()
    sleepers = exp.create_ensemble("sleep", replicas=2, exe=app()[0], args=app("sleep", 60)[1])
    before = descendants()
    exp.start(store, sleepers)
    pids = descendants(at_least=7, besides=before)
    assert len(pids) >= 7  # store: bash, python, valkey-server; each sleeper: bash, python
    exp.stop()
    assert alive(pids) == []
    assert exp.get_status(store, sleepers) == [Status.CANCELLED] * 3


def test_ctrl_c_while_waiting_stops_everything(exp):
    exp.create_store()
    exp.create_model("sim", *app("sleep", 60))
    before = descendants()
    exp.start()
    pids = descendants(at_least=5, besides=before)
    threading.Timer(0.5, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        exp.wait(timeout=30)
    assert alive(pids) == []
    assert set(exp.poll().values()) == {Status.CANCELLED}


def test_wait_has_a_timeout(exp):
    sim = exp.create_model("sim", *app("sleep", 60))
    exp.start(sim)
    with pytest.raises(ExperimentTimeoutError, match=r"sim \(Running\)") as info:
        exp.wait(timeout=0.3)
    assert isinstance(info.value, TimeoutError)


def test_colocated_store(exp):
    sim = exp.create_model("sim", *app("roundtrip", "u"))
    store = exp.create_store(kind="colocated", model=sim)
    exp.start(sim, block=True, timeout=60)
    assert f"rank 0 on {store.address}: ok" in (sim.path / "sim.out").read_text()
    assert (sim.path / "sim_store" / socket.gethostname().split(".")[0] / "server.log").exists()  # one per node
    assert not os.path.exists(store.socket_path)  # stopped after the ranks
    assert [r.kind for r in exp.summary()] == ["model", "store (co-located)"]


def test_local_dask_cluster_reads_from_the_store(exp):
    store = exp.create_store()
    dask = exp.create_dask_cluster(workers=2, gpus_per_worker=1, dashboard_address="127.0.0.1:0")
    exp.start(store, dask)
    client = dask.get_client(timeout=60)
    assert set(client.run(lambda: os.environ["SIMDASK_ADDRESS"]).values()) == {store.address}
    assert {w["resources"]["GPU"] for w in client.scheduler_info()["workers"].values()} == {1}
    with simdask.Client(store.address) as sd:
        sd.put_tensors({f"part{i}": np.full(10, i, dtype=np.float64) for i in range(4)})

    def total(name):
        return float(simdask.Client().get_tensor(name).sum())  # the worker finds the store through its env

    assert sum(client.gather(client.map(total, [f"part{i}" for i in range(4)]))) == 60.0
    assert exp.summary().row("dask").status == Status.RUNNING
    exp.stop(dask)
    assert exp.get_status(dask, store) == [Status.CANCELLED, Status.RUNNING]


def test_summary_renders_as_text_and_html(exp):
    exp.create_model("echo", "echo", ["hi"])
    exp.start(block=True, timeout=30)
    summary = exp.summary()
    text = str(summary)
    assert text.splitlines()[1].split() == [
        "entity",
        "kind",
        "job",
        "id",
        "status",
        "return",
        "code",
        "started",
        "ended",
    ]
    assert "Completed" in text
    html = exp._repr_html_()
    assert '<table class="simdask-summary">' in html and "<td>echo</td><td>model</td>" in html
