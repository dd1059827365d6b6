"""How an Experiment shows itself: what runs, where to reach it, and "Stopped" (not "Cancelled -15") once stopped."""

from __future__ import annotations

import os
import signal

import pytest
from experiment_helpers import app

import simdask
from simdask.experiment import Status


@pytest.fixture
def exp(tmp_path):
    experiment = simdask.Experiment("shown", exp_path=tmp_path / "<exp>", launcher="local")
    yield experiment
    experiment.stop()


def test_a_running_experiment_shows_its_entities_and_where_to_reach_them(exp):
    store = exp.create_store()
    sim = exp.create_model("sim", *app("sleep", 60))
    dask = exp.create_dask_cluster(workers=1, dashboard_address="127.0.0.1:0")
    exp.start(store, sim, dask)
    assert repr(exp) == f"<simdask.Experiment 'shown' (local launcher): 3 entities, 3 running, at {exp.exp_path}>"
    html = exp._repr_html_()
    assert "<exp>" not in html and "&lt;exp&gt;" in html  # escaped
    assert store.address in html and f'href="{dask.cluster.dashboard_link}"' in html
    assert html.count("<td>Running</td>") == 3
    exp.stop()
    html = exp._repr_html_()
    assert html.count("<td>Stopped</td><td></td>") == 3  # no return code either
    assert "Cancelled" not in html and "-15" not in html and "dashboard" not in html
    assert exp.get_status(store, sim, dask) == [Status.CANCELLED] * 3  # what programs check is unchanged
    assert "0 running" in repr(exp)


def test_a_model_killed_by_someone_else_reads_cancelled_by_its_signal(exp):
    sim = exp.create_model("sim", *app("sleep", 60))
    exp.start(sim)
    os.killpg(int(exp._jobs["sim"].job_id), signal.SIGKILL)
    exp.wait(sim, timeout=30)
    row = exp.summary().row("sim")
    assert row.cells()[3:5] == ("Cancelled", "SIGKILL")
