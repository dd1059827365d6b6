"""``simdask.Client``: SmartRedis's Python API on simdask's store and wire format.

A SmartSim user ports by changing an import: method names and semantics are
SmartRedis's (tensors, datasets, aggregation lists, polling, ensemble key
prefixes). Beyond SmartRedis: batched ``put_tensors``/``get_tensors`` (one
round trip per shard), dimension names and attrs stored with each tensor,
``tensor_info`` (header only), and a picklable client for Dask workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..protocol import Dataset, KeyPrefixes, Session, SessionOptions, dataset_io, lists, tensors
from ..wire import TensorInfo
from .models import ModelMethods
from .polling import poll

__all__ = ["Client"]


class Client(ModelMethods):
    """A connection to a simdask store (standalone, Unix socket or cluster).

    Parameters
    ----------
    address
        ``host:port``, ``unix:///path`` or comma-separated cluster nodes;
        ``None`` reads ``SIMDASK_ADDRESS``.
    password
        ``None`` reads ``SIMDASK_PASSWORD``.
    connect_timeout
        Seconds to connect, authenticate and learn the store's topology
        (``None``: ``SIMDASK_CONNECT_TIMEOUT``, else ``simdask.client.connect-timeout``);
        ``Client()`` itself returns or fails within it.
    socket_timeout
        Seconds one reply may take (``None``: ``SIMDASK_IO_TIMEOUT``, 0 meaning
        no limit, else ``simdask.client.socket-timeout``).
    run_timeout
        Seconds ``run_model``/``run_script`` wait by default (``None``:
        ``SIMDASK_RUN_TIMEOUT``, else ``simdask.inference.run-timeout``).
    chunk_threshold, chunk_bytes
        Tensors with more data than ``chunk_threshold`` bytes are stored in
        chunks of ``chunk_bytes`` (DESIGN.md's chunked form).

    Examples
    --------
    >>> client = Client(store.address)                        # doctest: +SKIP
    >>> client.put_tensor("u", np.arange(6.0).reshape(2, 3))  # doctest: +SKIP
    >>> client.get_tensor("u").shape                          # doctest: +SKIP
    (2, 3)
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        password: str | None = None,
        connect_timeout: float | None = None,
        socket_timeout: float | None = None,
        chunk_threshold: int | str | None = None,
        chunk_bytes: int | str | None = None,
        run_timeout: float | None = None,
    ) -> None:
        options = SessionOptions.resolve(
            address,
            password=password,
            connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            chunk_threshold=chunk_threshold,
            chunk_bytes=chunk_bytes,
            run_timeout=run_timeout,
        )
        self._session = Session(options)
        self._prefixes = KeyPrefixes.from_env()
        self._session.connect()  # fail now, naming the address, if the store is not there

    # -- connection ----------------------------------------------------------------

    @property
    def address(self) -> str:
        """The store's address as this client reaches it."""
        return self._session.address

    @property
    def is_cluster(self) -> bool:
        return self._session.is_cluster

    @property
    def session(self) -> Session:
        """The store session under this client: what :mod:`simdask.protocol` functions take.

        For the layers built on the client (bridge, inference): they call the
        protocol with it and raw keys (see :meth:`tensor_key`). Read-only.
        """
        return self._session

    def close(self) -> None:
        """Close idle connections; the client reconnects if used again."""
        self._session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle a recipe (the session's options, the prefixes), never sockets: a Dask worker reconnects."""
        return {"session": self._session, "prefixes": self._prefixes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._session = state["session"]
        self._prefixes = state["prefixes"]

    def __repr__(self) -> str:
        return f"<simdask.Client {self.address}>"

    # -- key prefixes --------------------------------------------------------------

    def use_tensor_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether tensor names get the ensemble prefix (default True)."""
        self._prefixes.use_tensor_prefix = bool(use_prefix)

    def use_dataset_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether dataset names get the ensemble prefix (default True)."""
        self._prefixes.use_dataset_prefix = bool(use_prefix)

    def use_list_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether aggregation list names get the ensemble prefix (default True)."""
        self._prefixes.use_list_prefix = bool(use_prefix)

    def set_data_source(self, source_id: str) -> None:
        """Read from ``source_id``: a prefix in ``SIMDASK_KEY_PREFIXES_IN`` or this client's own."""
        self._prefixes.set_data_source(source_id)

    def tensor_key(self, name: str, *, write: bool = False) -> str:
        """The raw store key of tensor ``name``: with the read prefix, or the write prefix when ``write``."""
        return self._prefixes.tensor(name, write=write)

    # -- tensors -------------------------------------------------------------------

    def put_tensor(
        self,
        name: str,
        data: np.ndarray,
        *,
        dims: Sequence[str] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        """Store an array under ``name`` (replacing any previous value).

        C- and Fortran-contiguous arrays are sent without copying their data;
        other layouts are made contiguous first. ``dims`` (one name per axis)
        and ``attrs`` (JSON-serialisable) are stored with the tensor.
        """
        session = self._session
        key = self._prefixes.tensor(name, write=True)
        tensors.put_tensors(session, [tensors.encode_tensor(session, key, data, dims=dims, attrs=attrs)])

    def put_tensors(self, items: Mapping[str, np.ndarray]) -> None:
        """Store many arrays in one pipelined round trip (per shard)."""
        session = self._session
        tensors.put_tensors(
            session,
            [tensors.encode_tensor(session, self._prefixes.tensor(n, write=True), a) for n, a in items.items()],
        )

    def get_tensor(self, name: str) -> np.ndarray:
        """The array stored under ``name``, with its stored shape, dtype and memory order.

        The result views the memory the data were received into (no second copy).
        """
        return tensors.get_tensors(self._session, [self._prefixes.tensor(name)])[0][1]

    def get_tensors(self, names: Sequence[str]) -> list[np.ndarray]:
        """Many arrays in one pipelined round trip (per shard), in the order of ``names``."""
        keys = [self._prefixes.tensor(n) for n in names]
        return [array for _, array in tensors.get_tensors(self._session, keys)]

    def unpack_tensor(self, name: str, result: np.ndarray) -> None:
        """Fill the preallocated array ``result`` with the tensor ``name``.

        Its dtype and shape must match the stored tensor's. When its memory
        order matches too, the data are received straight into it.
        """
        tensors.unpack_tensor(self._session, self._prefixes.tensor(name), result)

    def tensor_info(self, name: str) -> TensorInfo:
        """Shape, dtype, order, dims and attrs of a stored tensor, without reading its data."""
        return tensors.tensor_infos(self._session, [self._prefixes.tensor(name)])[0]

    def tensor_infos(self, names: Sequence[str]) -> list[TensorInfo]:
        """:meth:`tensor_info` of many tensors in one pipelined round trip."""
        return tensors.tensor_infos(self._session, [self._prefixes.tensor(n) for n in names])

    def delete_tensor(self, name: str) -> None:
        """Delete a tensor (and its chunks). Deleting a missing tensor is not an error."""
        tensors.delete_tensors(self._session, [self._prefixes.tensor(name)])

    def copy_tensor(self, src_name: str, dest_name: str) -> None:
        """Copy a tensor (data, dims and attrs) to a new name."""
        source, dest = self._prefixes.tensor(src_name), self._prefixes.tensor(dest_name, write=True)
        tensors.copy_tensor(self._session, source, dest)

    def rename_tensor(self, old_name: str, new_name: str) -> None:
        """Move a tensor to a new name (a copy, then a delete of the old name)."""
        if self._prefixes.tensor(old_name) == self._prefixes.tensor(new_name, write=True):
            return
        self.copy_tensor(old_name, new_name)
        self.delete_tensor(old_name)

    def tensor_exists(self, name: str) -> bool:
        """Whether the tensor ``name`` (with the read prefix) exists."""
        return self.key_exists(self._prefixes.tensor(name))

    def key_exists(self, key: str) -> bool:
        """Whether the raw ``key`` exists (no prefix applied)."""
        return tensors.key_exists(self._session, key)

    def poll_tensor(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for tensor ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        return poll(self._session, lambda: self.tensor_exists(name), poll_frequency_ms, num_tries)

    def poll_key(self, key: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for the raw ``key`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        return poll(self._session, lambda: self.key_exists(key), poll_frequency_ms, num_tries)

    # -- datasets ------------------------------------------------------------------

    def put_dataset(self, dataset: Dataset) -> None:
        """Store a dataset: its tensors and metadata appear together, or not at all."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"put_dataset needs a simdask.Dataset, got {type(dataset).__name__}")
        if dataset.is_empty():
            raise ValueError(f"dataset {dataset.name!r} has no tensors and no metadata")
        dataset_io.put_dataset(self._session, self._prefixes.dataset(dataset.name, write=True), dataset)

    def get_dataset(self, name: str) -> Dataset:
        """The complete dataset ``name`` (tensors and metadata)."""
        return dataset_io.get_datasets(self._session, [self._prefixes.dataset(name)])[0]

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset's tensors and metadata; a missing dataset is an error."""
        dataset_io.delete_dataset(self._session, self._prefixes.dataset(name))

    def copy_dataset(self, src_name: str, dest_name: str) -> None:
        """Copy a dataset (tensors, dims, attrs, metadata) to a new name."""
        source = self.get_dataset(src_name)
        copy = Dataset(dest_name)
        for tensor, array, dims, attrs in source.tensor_items():
            copy.add_tensor(tensor, array, dims=dims, attrs=attrs)
        for field in source.get_metadata_field_names():
            if source.get_metadata_field_type(field) is str:
                for text in source.get_meta_strings(field):
                    copy.add_meta_string(field, text)
            else:
                for value in source.get_meta_scalars(field):
                    copy.add_meta_scalar(field, value)
        self.put_dataset(copy)

    def rename_dataset(self, old_name: str, new_name: str) -> None:
        """Move a dataset to a new name (a copy, then a delete of the old name)."""
        if self._prefixes.dataset(old_name) == self._prefixes.dataset(new_name, write=True):
            return
        self.copy_dataset(old_name, new_name)
        self.delete_dataset(old_name)

    def dataset_exists(self, name: str) -> bool:
        """Whether the dataset ``name`` exists completely."""
        return dataset_io.dataset_exists(self._session, self._prefixes.dataset(name))

    def poll_dataset(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for dataset ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        return poll(self._session, lambda: self.dataset_exists(name), poll_frequency_ms, num_tries)

    # -- aggregation lists -------------------------------------------------------------

    def append_to_list(self, list_name: str, dataset: Dataset) -> None:
        """Append a dataset (by its key) to aggregation list ``list_name``.

        The dataset itself is stored with :meth:`put_dataset`.
        """
        key = self._prefixes.list(list_name, write=True)
        lists.append_to_list(self._session, key, self._prefixes.dataset(dataset.name, write=True))

    def delete_list(self, list_name: str) -> None:
        """Delete an aggregation list (not the datasets it names)."""
        lists.delete_list(self._session, self._prefixes.list(list_name))

    def copy_list(self, src_name: str, dest_name: str) -> None:
        """Copy an aggregation list's entries to a new list (replacing it)."""
        lists.copy_list(self._session, self._prefixes.list(src_name), self._prefixes.list(dest_name, write=True))

    def rename_list(self, src_name: str, dest_name: str) -> None:
        """Move an aggregation list to a new name."""
        if self._prefixes.list(src_name) == self._prefixes.list(dest_name, write=True):
            return
        self.copy_list(src_name, dest_name)
        self.delete_list(src_name)

    def get_list_length(self, list_name: str) -> int:
        """Number of entries of aggregation list ``list_name`` (0 if it does not exist)."""
        return lists.list_length(self._session, self._prefixes.list(list_name))

    def poll_list_length(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has exactly ``list_length`` entries."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, int.__eq__)

    def poll_list_length_gte(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has at least ``list_length`` entries."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, int.__ge__)

    def poll_list_length_lte(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has at most ``list_length`` entries."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, int.__le__)

    def _poll_length(
        self, name: str, length: int, frequency: int, tries: int, compare: Callable[[int, int], bool]
    ) -> bool:
        if length < 0:
            raise ValueError(f"list_length must be >= 0, got {length}")
        return poll(self._session, lambda: compare(self.get_list_length(name), length), frequency, tries)

    def get_datasets_from_list(self, list_name: str) -> list[Dataset]:
        """Every dataset named by aggregation list ``list_name``, in list order."""
        return self.get_dataset_list_range(list_name, 0, -1)

    def get_dataset_list_range(self, list_name: str, start_index: int, end_index: int) -> list[Dataset]:
        """Datasets at list positions ``start_index``..``end_index`` (inclusive; negatives count from the end)."""
        entries = lists.list_entries(self._session, self._prefixes.list(list_name), start_index, end_index)
        return dataset_io.get_datasets(self._session, entries)

    # -- raw access ----------------------------------------------------------------

    def redis(self) -> Any:
        """A redis-py client on the same store, for commands simdask does not wrap (``INFO``, ...)."""
        import redis
        import redis.cluster

        password, timeout = self._session.options.password, self._session.options.connect_timeout
        seeds = self._session.transport.seeds
        if seeds[0].is_unix:
            return redis.Redis(unix_socket_path=seeds[0].path, password=password, socket_connect_timeout=timeout)
        if self.is_cluster:
            nodes = [redis.cluster.ClusterNode(a.host, a.port) for a in seeds]
            return redis.RedisCluster(startup_nodes=nodes, password=password, socket_connect_timeout=timeout)
        return redis.Redis(host=seeds[0].host, port=seeds[0].port, password=password, socket_connect_timeout=timeout)

    def keys(self, pattern: str = "*") -> list[str]:
        """Every raw key matching the glob ``pattern``, on every shard (``SCAN``, never ``KEYS``)."""
        return [key for group in self._session.transport.scan(pattern) for key in group]

    def flush(self) -> None:
        """Delete every key on every shard of the store (``FLUSHALL``)."""
        transport = self._session.transport
        for node in transport.nodes():
            transport.execute_on(node, "FLUSHALL")
