"""Online training: read samples from the store while the simulation produces them.

:class:`StoreDataset` is a ``torch.utils.data.IterableDataset`` over the
datasets an aggregation list names (the SmartSim pattern: each simulation step
``put_dataset`` + ``append_to_list``). It follows the list as it grows and
ends when the writer's end-of-run marker (:data:`simdask.END_OF_RUN`, the
same one :func:`simdask.watch` honours) appears, or when no new sample came
for ``timeout`` seconds. Requires torch (``pip install 'simdask[torch]'``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .client import Client, Dataset
from .protocol.runs import END_OF_RUN, run_ended

__all__ = ["StoreDataset"]


class StoreDataset(IterableDataset):
    """Samples from the datasets named by an aggregation list, as torch tensors.

    Parameters
    ----------
    list_name
        The aggregation list the simulation appends its datasets to.
    tensors
        Names of the dataset tensors that make one sample, in order (e.g.
        ``("inputs", "targets")``).
    address
        The store (``None``: ``SIMDASK_ADDRESS``).
    rows
        Yield each row (first dimension) of the tensors as its own sample,
        instead of one sample per dataset.
    follow
        Keep waiting for new entries at the end of the list.
    timeout
        Seconds without a new entry after which iteration ends (``follow``).
    poll_interval
        Seconds between looks at the list's length while waiting.
    batch
        Datasets fetched per round trip.
    run
        Which run of the writer group to read (``docs/protocol.md``, "Runs"):
        ``None`` for its current run, or a run number.

    With several DataLoader workers, each reads every ``num_workers``-th entry.
    """

    def __init__(
        self,
        list_name: str,
        tensors: Sequence[str],
        address: str | None = None,
        *,
        rows: bool = False,
        follow: bool = True,
        timeout: float = 30.0,
        poll_interval: float = 0.05,
        batch: int = 16,
        run: int | str | None = None,
    ) -> None:
        super().__init__()
        if not tensors:
            raise ValueError("name at least one dataset tensor per sample")
        self.client = Client(address)
        self.client.set_data_source(self.client.data_source, run)
        self.list_name = list_name
        self.tensors = tuple(tensors)
        self.rows = rows
        self.follow = follow
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.batch = batch

    def _sample(self, dataset: Dataset) -> Iterator[tuple[torch.Tensor, ...]]:
        arrays = [np.asarray(dataset.get_tensor(t)) for t in self.tensors]
        if not self.rows:
            yield tuple(torch.from_numpy(a) for a in arrays)
            return
        for row in range(arrays[0].shape[0]):
            yield tuple(torch.from_numpy(a[row]) for a in arrays)

    def _ended(self) -> bool:
        """Whether the run writing the list is over (a run whose writer died raises :class:`RunFailedError`)."""
        run = self.client.reading_run()
        if run is None:
            return run_ended(self.client.session, self.client.tensor_key(END_OF_RUN))
        info = self.client.run_info(run)
        info.check()
        return info.state == "ended"

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        worker = get_worker_info()
        share, shares = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        position = 0
        last_new = time.monotonic()
        while True:
            length = self.client.get_list_length(self.list_name)
            if position < length:
                end = min(length, position + self.batch)
                mine = [i for i in range(position, end) if i % shares == share]
                if mine:
                    entries = self.client.get_dataset_list_range(self.list_name, mine[0], mine[-1])
                    for offset, dataset in enumerate(entries):
                        if (mine[0] + offset) % shares == share:
                            yield from self._sample(dataset)
                position = end
                last_new = time.monotonic()
                continue
            if not self.follow or self._ended():
                return
            if time.monotonic() - last_new > self.timeout:
                return
            time.sleep(self.poll_interval)
