"""Experiment.wait counts the models finished on a progress bar, where one can show."""

from __future__ import annotations

import dask
import pytest
from experiment_helpers import app

import simdask
from simdask import _progress


@pytest.mark.parametrize("setting", [True, None], ids=["shown", "not-a-terminal"])
def test_wait_shows_the_models_finished(tmp_path, capfd, monkeypatch, setting):
    monkeypatch.setattr(_progress, "DELAY_S", 0)
    exp = simdask.Experiment("waited", exp_path=tmp_path / "exp", launcher="local")
    exp.create_ensemble("sleep", replicas=3, exe=app()[0], args=app("sleep", 0.2)[1])
    try:
        exp.start()
        with dask.config.set({"simdask.progress": setting}):
            exp.wait(timeout=60)
    finally:
        exp.stop()
    err = capfd.readouterr().err
    if setting:
        assert "waited: models finished: 100%" in err and "3/3" in err
    else:
        assert "models finished" not in err
