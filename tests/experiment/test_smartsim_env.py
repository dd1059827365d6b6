"""What an experiment gives SmartRedis programs: SmartSim's variables beside simdask's, and a store that runs
models itself (``create_store(serve=N)``), so that a SmartSim-shaped workflow needs no Dask."""

from __future__ import annotations

import numpy as np
import pytest
from experiment_helpers import alive, app

import simdask
from simdask.experiment import Status
from simdask.store.state import read_state


@pytest.fixture
def exp(tmp_path):
    experiment = simdask.Experiment("smartsim", exp_path=tmp_path / "exp", launcher="local")
    yield experiment
    experiment.stop()


def printed(model) -> dict[str, str]:
    lines = (model.path / f"{model.name}.out").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_models_get_smartsim_variables_beside_simdask_ones(exp):
    store = exp.create_store()
    writer = exp.create_model("writer", *app("smartsim"))
    writer.enable_key_prefixing()
    reader = exp.create_model("reader", *app("smartsim"))
    reader.register_incoming_entity(writer)
    plain = exp.create_model("plain", *app("smartsim"), env={"SSDB": "elsewhere:1"})  # the model's own env wins
    exp.start(store)
    exp.start(writer, reader, plain, block=True, timeout=60)
    assert printed(writer) == {"SSDB": store.address, "SR_DB_TYPE": "Standalone", "SSKEYOUT": "writer", "SSKEYIN": ""}
    assert printed(reader) == {"SSDB": store.address, "SR_DB_TYPE": "Standalone", "SSKEYOUT": "", "SSKEYIN": "writer"}
    assert printed(plain)["SSDB"] == "elsewhere:1"


def test_colocated_and_cluster_stores_say_so(exp):
    sim = exp.create_model("sim", *app("smartsim"))
    colocated = exp.create_store(kind="colocated", model=sim)
    assert colocated.job_env["SSDB"] == colocated.address and colocated.address.startswith("unix://")
    assert colocated.job_env["SR_DB_TYPE"] == "Standalone"
    cluster = simdask.Experiment("c", exp_path=exp.exp_path.parent / "c", launcher="local").create_store(kind="cluster")
    cluster.address = "10.0.0.1:7000,10.0.0.1:7001,10.0.0.1:7002"  # as the store job reports it
    assert cluster.job_env["SSDB"] == cluster.address and cluster.job_env["SR_DB_TYPE"] == "Clustered"
    assert cluster.env["SSDB"] == cluster.address


def test_a_store_that_serves_answers_a_launched_model_and_stops_its_loops(exp):
    torch = pytest.importorskip("torch", reason="storing a TorchScript model needs torch")

    class Double(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    store = exp.create_store(serve=1)
    sim = exp.create_model("sim", *app("infer", "double"))
    exp.start(store)
    serving = read_state(store.path)["serving"]
    assert serving["loops"] == 1 and alive([serving["pid"]]) == [serving["pid"]]
    with simdask.Client(store.address) as client:
        client.set_model("double", torch.jit.script(Double()), "TORCH")
        exp.start(sim)
        assert exp.wait(sim, timeout=120) == {"sim": Status.COMPLETED}
        np.testing.assert_array_equal(client.get_tensor("y"), np.array([2, 4, 6, 8], np.float32))
    assert "serving loops" in (store.path / "serve.log").read_text()
    exp.stop()
    assert alive([serving["pid"]]) == []
