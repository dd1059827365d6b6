"""A Dask worker process killed (SIGKILL) in the middle of a bridge computation: Dask runs its tasks
again on the worker that remains (or the one its nanny restarts), whose store connection opens when its
first task needs it, and the result is right."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest
from distributed import Client as DaskClient
from distributed import LocalCluster

import simdask

STEPS = 400


def test_a_worker_killed_mid_computation(own_store):
    client = simdask.Client(own_store.address)
    data = np.random.default_rng(7).random((STEPS, 32, 32))
    client.put_tensors({f"u.{step}": data[step] for step in range(STEPS)})
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        DaskClient(cluster) as dask_client,
    ):
        dask_client.wait_for_workers(2)
        ds = simdask.open_dataset("u.{step:d}", client, chunks={})
        assert ds.u.data.npartitions == STEPS  # one task per stored step
        future = dask_client.compute(ds.u.mean())
        deadline = time.monotonic() + 30
        while True:  # wait until both workers are busy with it
            busy = [w for w, tasks in dask_client.processing().items() if tasks]
            if len(busy) == 2 or future.done():
                break
            assert time.monotonic() < deadline, "the computation never reached both workers"
            time.sleep(0.005)
        assert not future.done(), "the computation ended before a worker could be killed: give it more steps"
        victim = busy[0]
        pid = dask_client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        result = future.result(timeout=120)
        assert victim not in dask_client.scheduler_info()["workers"]  # it really died mid-computation
    assert float(result) == pytest.approx(data.mean(), rel=1e-12)
