"""Several "nodes" on one machine: Dask workers and stores tagged n0, n1, n2 (``SIMDASK_NODE``, ``Store(node=)``)."""

from __future__ import annotations

import dask
import pytest

from simdask import env

NODES = ("n0", "n1", "n2")  # test_placement.py names them too


@pytest.fixture(scope="package")
def node_cluster():
    """A Dask cluster of one worker process per simulated node (its ``SIMDASK_NODE``), no work stealing (a
    stolen task would run off its node on purpose: the tests check where placement puts tasks)."""
    from distributed import Client, Nanny, Scheduler, SpecCluster

    workers = {
        f"worker-{node}": {
            "cls": Nanny,
            "options": {"nthreads": 1, "host": "127.0.0.1", "dashboard_address": ":0", "env": {env.NODE: node}},
        }
        for node in NODES
    }
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard_address": ":0"}}
    with dask.config.set({"distributed.scheduler.work-stealing": False}):
        with SpecCluster(workers=workers, scheduler=scheduler) as cluster, Client(cluster) as client:
            client.wait_for_workers(len(NODES), timeout=60)
            yield client


@pytest.fixture
def worker_of(node_cluster):
    """Node -> the address of its one worker."""
    info = node_cluster.scheduler_info(n_workers=-1)["workers"]
    return {w["name"].removeprefix("worker-"): address for address, w in info.items()}
