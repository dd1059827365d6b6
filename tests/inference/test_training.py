"""StoreDataset: training samples read from the store while they are produced."""

from __future__ import annotations

import threading
import time

import numpy as np
import torch
from torch.utils.data import DataLoader

import simdask
from simdask.training import StoreDataset


def produce(address: str, count: int, delay: float = 0.0, end: bool = True) -> None:
    with simdask.Client(address) as client:
        for i in range(count):
            ds = simdask.Dataset(f"sample_{i}")
            ds.add_tensor("inputs", np.full((4, 3), i, dtype=np.float32))
            ds.add_tensor("targets", np.full((4, 1), 2 * i, dtype=np.float32))
            client.put_dataset(ds)
            client.append_to_list("samples", ds)
            time.sleep(delay)
        if end:
            client.put_tensor(simdask.END_OF_RUN, np.array(count))


def test_follows_a_growing_list_until_its_end_marker(client, store):
    writer = threading.Thread(target=produce, args=(store.address, 12, 0.02))
    writer.start()
    dataset = StoreDataset("samples", ("inputs", "targets"), store.address, timeout=30)
    seen = [(int(x[0, 0]), int(y[0, 0])) for x, y in dataset]
    writer.join()
    assert seen == [(i, 2 * i) for i in range(12)]


def test_rows_and_a_dataloader_with_workers(client, store):
    produce(store.address, 6)
    dataset = StoreDataset("samples", ("inputs", "targets"), store.address, rows=True)
    loader = DataLoader(dataset, batch_size=8, num_workers=2)
    inputs = torch.cat([x for x, _ in loader])
    assert inputs.shape == (24, 3)  # every row of every dataset exactly once across the two workers
    assert sorted(inputs[:, 0].tolist()) == sorted(float(i) for i in range(6) for _ in range(4))


def test_stops_after_timeout_without_an_end_marker(client, store):
    produce(store.address, 2, end=False)
    start = time.monotonic()
    assert len(list(StoreDataset("samples", ("inputs",), store.address, timeout=0.3))) == 2
    assert time.monotonic() - start >= 0.3
    assert len(list(StoreDataset("samples", ("inputs",), store.address, follow=False))) == 2
