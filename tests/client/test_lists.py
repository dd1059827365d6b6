"""Aggregation lists: datasets gathered by name, read back in one go."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import simdask
from simdask import Dataset


def put_samples(client: simdask.Client, count: int, list_name: str = "samples") -> None:
    for i in range(count):
        ds = Dataset(f"s{i}")
        ds.add_tensor("x", np.full(4, i, dtype=np.float32))
        ds.add_meta_scalar("i", i)
        client.put_dataset(ds)
        client.append_to_list(list_name, ds)


def test_append_length_and_read_back(client):
    put_samples(client, 5)
    assert client.get_list_length("samples") == 5
    datasets = client.get_datasets_from_list("samples")
    assert [d.name for d in datasets] == [f"s{i}" for i in range(5)]
    assert [int(d.get_meta_scalars("i")[0]) for d in datasets] == list(range(5))
    assert [d.name for d in client.get_dataset_list_range("samples", 1, 2)] == ["s1", "s2"]
    assert [d.name for d in client.get_dataset_list_range("samples", -2, -1)] == ["s3", "s4"]
    assert client.get_list_length("never") == 0
    assert client.get_datasets_from_list("never") == []


def test_copy_rename_delete_list(client):
    put_samples(client, 3)
    client.copy_list("samples", "copy")
    assert client.get_list_length("copy") == 3
    client.rename_list("copy", "moved")
    assert client.get_list_length("copy") == 0 and client.get_list_length("moved") == 3
    client.delete_list("moved")
    assert client.get_list_length("moved") == 0
    assert client.dataset_exists("s0")  # deleting a list keeps its datasets
    with pytest.raises(KeyError, match="'missing'"):
        client.copy_list("missing", "x")


def test_list_of_a_deleted_dataset_fails_clearly(client):
    put_samples(client, 2)
    client.delete_dataset("s1")
    with pytest.raises(KeyError, match="dataset 's1'"):
        client.get_datasets_from_list("samples")


def test_poll_list_length_variants(client):
    put_samples(client, 2)
    assert client.poll_list_length("samples", 2, 1, 2)
    assert not client.poll_list_length("samples", 3, 1, 2)
    assert client.poll_list_length_gte("samples", 1, 1, 2)
    assert not client.poll_list_length_gte("samples", 3, 1, 2)
    assert client.poll_list_length_lte("samples", 2, 1, 2)
    assert not client.poll_list_length_lte("samples", 1, 1, 2)
    with pytest.raises(ValueError, match="list_length"):
        client.poll_list_length("samples", -1, 1, 1)


def test_poll_sees_a_list_grow_from_another_client(client, store):
    def producer() -> None:
        time.sleep(0.05)
        with simdask.Client(store.address) as other:
            put_samples(other, 3, "growing")

    thread = threading.Thread(target=producer)
    thread.start()
    assert client.poll_list_length_gte("growing", 3, 20, 100)
    thread.join()
