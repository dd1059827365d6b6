"""A client crosses process boundaries: pickled to Dask workers, inherited by forked children."""

from __future__ import annotations

import multiprocessing
import os
import pickle

import numpy as np

import simdask


def test_pickle_keeps_the_recipe_not_the_sockets(client):
    client.put_tensor("u", np.arange(4))
    clone = pickle.loads(pickle.dumps(client))
    assert clone.address == client.address
    np.testing.assert_array_equal(clone.get_tensor("u"), np.arange(4))


def _child_reads(client: simdask.Client, queue) -> None:
    queue.put(client.get_tensor("u").tolist())
    client.put_tensor("from_child", np.full(2, os.getpid()))


def test_forked_child_opens_its_own_connections(client):
    client.put_tensor("u", np.arange(3))
    client.get_tensor("u")  # the parent holds a pooled connection now
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_reads, args=(client, queue))
    child.start()
    assert queue.get(timeout=30) == [0, 1, 2]
    child.join(30)
    assert child.exitcode == 0
    assert client.get_tensor("from_child")[0] == child.pid
    np.testing.assert_array_equal(client.get_tensor("u"), np.arange(3))  # the parent's connection is intact


def test_threads_share_a_client(client):
    from concurrent.futures import ThreadPoolExecutor

    def work(i: int) -> bool:
        data = np.full(1000, i, dtype=np.int64)
        client.put_tensor(f"t{i}", data)
        return bool((client.get_tensor(f"t{i}") == i).all())

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(64)))
