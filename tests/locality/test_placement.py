"""Tasks that read a node's keys run on that node's Dask worker (three simulated nodes on one machine)."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import pytest
from dask.array.optimization import optimize as dask_optimize
from dask.base import collections_to_expr
from distributed import get_task_stream

import simdask
from simdask.bridge import placement
from simdask.locality import store_nodes

NODES = ("n0", "n1", "n2")  # the node_cluster's workers' nodes (conftest.py)


@pytest.fixture(scope="module")
def spread_cluster():
    """A 3-shard cluster store, shard i on node n<i>."""
    with simdask.Store("cluster", nodes=list(NODES)) as store:
        yield store


@pytest.fixture(scope="module")
def node_stores():
    """Co-located stores: one Unix-socket store per node."""
    stores = [simdask.Store("unix", node=node).start() for node in NODES]
    yield stores
    for store in stores:
        store.stop()


def _ran_on(ts, name):
    """Block index -> worker, for the tasks of dask layer ``name``."""
    return {tuple(t["key"][1:]): t["worker"] for t in ts.data if isinstance(t["key"], tuple) and t["key"][0] == name}


def _layer_name(array):
    return next(n for n in array.dask.layers if n.startswith("simdask-"))


def test_workers_are_asked_their_node(node_cluster, worker_of):
    assert placement.worker_nodes(node_cluster) == {node: (worker_of[node],) for node in NODES}


def test_blocks_of_a_spread_cluster_run_on_their_shards_node(node_cluster, worker_of, spread_cluster):
    with simdask.Client(spread_cluster.address) as client:
        client.flush()
        data = np.arange(24 * 50, dtype="f8").reshape(24, 50)
        for step in range(24):
            client.put_tensor(f"u_{step}", data[step])
        nodes = store_nodes(client)
        transport = client.session.transport
        expected = {(step, 0): worker_of[nodes[str(transport.node_for(f"u_{step}"))]] for step in range(24)}
        assert len(set(expected.values())) == 3  # keys on every node
        ds = simdask.open_dataset("u_{step:d}", client, chunks={})  # a key per chunk: each on one shard
        with get_task_stream(node_cluster) as ts:
            assert float(ds.u.mean().compute()) == data.mean()  # reduced: dask optimised the graph first
        assert _ran_on(ts, _layer_name(ds.u.data)) == expected


def test_colocated_stores_read_each_block_from_its_node(node_cluster, worker_of, node_stores):
    rng = np.random.default_rng(3)
    full = rng.random((4, 6, 9))  # step, y, x: x split over three ranks, one rank per node
    for rank, store in enumerate(node_stores):
        with simdask.Client(store.address) as client:
            client.flush()
            for step in range(4):
                client.put_tensor(f"rank{rank}/T_{step}", full[step, :, 3 * rank : 3 * rank + 3])
    addresses = [s.address for s in node_stores]
    for chunks, steps in (({}, range(4)), (None, [0])):  # a key per chunk; "auto": a rank's steps in one
        ds = simdask.open_colocated("rank{rank:d}/{var}_{step:d}", addresses, concat={"rank": -1}, chunks=chunks)
        with get_task_stream(node_cluster) as ts:
            np.testing.assert_allclose(ds.T.sum("step").values, full.sum(axis=0))
        expected = {(step, 0, rank): worker_of[NODES[rank]] for step in steps for rank in range(3)}
        assert _ran_on(ts, _layer_name(ds.T.data)) == expected


def test_a_block_over_several_stores_reads_each(node_cluster, node_stores):
    for rank, store in enumerate(node_stores):
        with simdask.Client(store.address) as client:
            client.flush()
            for step in range(2):
                client.put_tensor(f"r{rank}/v_{step}", np.full((3,), 10 * rank + step, dtype="i4"))
    ds = simdask.open_colocated("r{rank:d}/v_{step:d}", [s.address for s in node_stores], chunks={"rank": -1}, name="v")
    assert ds.v.data.numblocks == (1, 2, 1)  # each block holds a key of every store
    np.testing.assert_array_equal(ds.v.values[:, :, 0], [[0, 1], [10, 11], [20, 21]])
    assert ds.v.dtype == np.int32


def test_a_node_without_a_worker_still_computes(node_cluster):
    with simdask.Store(node="n9") as store, simdask.Client(store.address) as client:
        for step in range(3):
            client.put_tensor(f"w_{step}", np.full((4,), step, dtype="f8"))
        ds = simdask.open_dataset("w_{step:d}", client)
        assert not ds.w.data.dask.layers[_layer_name(ds.w.data)].annotations  # no worker of n9: not placed
        assert float(ds.w.sum().compute()) == 12.0


def test_placed_tasks_may_run_elsewhere(node_cluster, worker_of, node_stores):
    """A task asks for its node's workers, loosely: one whose workers are gone or busy runs elsewhere."""
    with simdask.Client(node_stores[0].address) as client:
        client.flush()
        client.put_tensor("x_0", np.ones(5))
    ds = simdask.open_colocated("x_{step:d}", [node_stores[0].address])
    layer = ds.x.data.dask.layers[_layer_name(ds.x.data)]
    assert layer.annotations["workers"](next(iter(layer))) == [worker_of["n0"]]
    assert layer.annotations["allow_other_workers"] is True


def _materialized(name, annotations=None):
    """A 2x2-block array of one materialized layer, as open_dataset builds them."""
    from dask.highlevelgraph import HighLevelGraph

    layer = {(name, i, j): (np.ones, (2, 2)) for i in range(2) for j in range(2)}
    graph = HighLevelGraph.from_collections(name, layer, dependencies=())
    graph.layers[name].annotations = annotations
    return da.Array(graph, name, chunks=((2, 2), (2, 2)), dtype="f8")


def test_optimize_keeps_annotations_and_fuses_the_rest():
    placed = _materialized("placed", {"workers": lambda key: ["tcp://127.0.0.1:1"], "allow_other_workers": True})
    with dask.config.set({"array_optimize": placement.optimize}):
        kept = collections_to_expr([placed.sum()]).optimize().__dask_annotations__()
        fused = collections_to_expr([_materialized("plain").sum()]).optimize().__dask_graph__()
    assert sorted(kept["workers"]) == [("placed", i, j) for i in range(2) for j in range(2)]
    total = placed.sum()  # dask's own optimisation: low-level fusion makes a plain dict, without annotations
    assert not hasattr(dask_optimize(total.dask, total.__dask_keys__()), "layers")
    assert not any(key[0] == "plain" for key in fused if isinstance(key, tuple))  # fused into the sums
