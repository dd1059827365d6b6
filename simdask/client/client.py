"""``simdask.Client``: SmartRedis's Python API on simdask's store and wire format.

A SmartSim user ports by changing an import: method names and semantics are
SmartRedis's (tensors, datasets, aggregation lists, polling, ensemble key
prefixes). Beyond SmartRedis: batched ``put_tensors``/``get_tensors`` (one
round trip per shard), dimension names and attrs stored with each tensor,
``tensor_info`` (header only), and a picklable client for Dask workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .. import config, env
from ..errors import KeyNotFoundError
from ..transport import Request, Transport, address_from_env
from ..wire import TensorInfo
from . import dataset_io, tensors
from .dataset import Dataset
from .keys import KeyPrefixes
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
    connect_timeout, socket_timeout
        Seconds (defaults from the ``simdask.client`` config).
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
    ) -> None:
        self._options = dict(
            address=address_from_env(address),
            password=password if password is not None else os.environ.get(env.PASSWORD) or None,
            connect_timeout=config.get("client.connect-timeout", connect_timeout),
            socket_timeout=config.get("client.socket-timeout", socket_timeout),
            chunk_threshold=config.get_bytes("client.chunk-threshold", chunk_threshold),
            chunk_bytes=config.get_bytes("client.chunk-bytes", chunk_bytes),
        )
        if self._options["chunk_bytes"] <= 0 or self._options["chunk_bytes"] > 512 * 2**20:
            raise ValueError(f"chunk_bytes must be in (0, 512 MiB], got {self._options['chunk_bytes']}")
        self._transport = Transport(
            self._options["address"],
            password=self._options["password"],
            connect_timeout=self._options["connect_timeout"],
            socket_timeout=self._options["socket_timeout"],
        )
        self._prefixes = KeyPrefixes.from_env()
        self._transport.refresh_topology()  # fail now, naming the address, if the store is not there

    # -- connection ----------------------------------------------------------------

    @property
    def address(self) -> str:
        """The store's address as this client reaches it."""
        return self._transport.address

    @property
    def is_cluster(self) -> bool:
        return self._transport.is_cluster

    @property
    def transport(self) -> Transport:
        """The underlying connections (for simdask's own modules)."""
        return self._transport

    def close(self) -> None:
        """Close idle connections; the client reconnects if used again."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        """Pickle a recipe (address, options, prefixes), never sockets: a Dask worker reconnects."""
        return {"options": self._options, "prefixes": self._prefixes}

    def __setstate__(self, state: dict[str, Any]) -> None:
        options = state["options"]
        self._options = options
        self._transport = Transport(
            options["address"],
            password=options["password"],
            connect_timeout=options["connect_timeout"],
            socket_timeout=options["socket_timeout"],
        )
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

    def encode_tensor(
        self,
        key: str,
        data: Any,
        dims: Sequence[str] | None = None,
        attrs: Mapping[str, Any] | None = None,
    ) -> tensors.EncodedTensor:
        """Lay out ``data`` for writing under the raw ``key`` with this client's chunk settings.

        For simdask's own modules (models, bridge): pass the result to
        :func:`simdask.client.tensors.write_tensors` with :attr:`transport`.
        """
        return tensors.encode_tensor(
            key, data, dims=dims, attrs=attrs,
            chunk_threshold=self._options["chunk_threshold"], chunk_bytes=self._options["chunk_bytes"],
        )

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
        key = self._prefixes.tensor(name, write=True)
        tensors.write_tensors(self._transport, [self.encode_tensor(key, data, dims, attrs)])

    def put_tensors(self, items: Mapping[str, np.ndarray]) -> None:
        """Store many arrays in one pipelined round trip (per shard)."""
        encoded = [self.encode_tensor(self._prefixes.tensor(n, write=True), a, None, None) for n, a in items.items()]
        tensors.write_tensors(self._transport, encoded)

    def get_tensor(self, name: str) -> np.ndarray:
        """The array stored under ``name``, with its stored shape, dtype and memory order.

        The result views the memory the data were received into (no second copy).
        """
        return tensors.read_tensors(self._transport, [self._prefixes.tensor(name)])[0][1]

    def get_tensors(self, names: Sequence[str]) -> list[np.ndarray]:
        """Many arrays in one pipelined round trip (per shard), in the order of ``names``."""
        keys = [self._prefixes.tensor(n) for n in names]
        return [array for _, array in tensors.read_tensors(self._transport, keys)]

    def unpack_tensor(self, name: str, result: np.ndarray) -> None:
        """Fill the preallocated array ``result`` with the tensor ``name``.

        Its dtype and shape must match the stored tensor's. When its memory
        order matches too, the data are received straight into it.
        """
        tensors.unpack_tensor(self._transport, self._prefixes.tensor(name), result)

    def tensor_info(self, name: str) -> TensorInfo:
        """Shape, dtype, order, dims and attrs of a stored tensor, without reading its data."""
        return tensors.read_infos(self._transport, [self._prefixes.tensor(name)])[0]

    def tensor_infos(self, names: Sequence[str]) -> list[TensorInfo]:
        """:meth:`tensor_info` of many tensors in one pipelined round trip."""
        return tensors.read_infos(self._transport, [self._prefixes.tensor(n) for n in names])

    def delete_tensor(self, name: str) -> None:
        """Delete a tensor (and its chunks). Deleting a missing tensor is not an error."""
        tensors.delete_tensors(self._transport, [self._prefixes.tensor(name)])

    def copy_tensor(self, src_name: str, dest_name: str) -> None:
        """Copy a tensor (data, dims and attrs) to a new name."""
        info, array = tensors.read_tensors(self._transport, [self._prefixes.tensor(src_name)], what="copy_tensor")[0]
        dest = self._prefixes.tensor(dest_name, write=True)
        tensors.write_tensors(self._transport, [self.encode_tensor(dest, array, info.dims, info.attrs)])

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
        return bool(self._transport.execute(key, "EXISTS", key))

    def poll_tensor(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for tensor ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        return poll(lambda: self.tensor_exists(name), poll_frequency_ms, num_tries)

    def poll_key(self, key: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for the raw ``key`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        return poll(lambda: self.key_exists(key), poll_frequency_ms, num_tries)

    # -- datasets ------------------------------------------------------------------

    def put_dataset(self, dataset: Dataset) -> None:
        """Store a dataset: its tensors and metadata appear together, or not at all."""
        if not isinstance(dataset, Dataset):
            raise TypeError(f"put_dataset needs a simdask.Dataset, got {type(dataset).__name__}")
        if dataset.is_empty():
            raise ValueError(f"dataset {dataset.name!r} has no tensors and no metadata")
        base = self._prefixes.dataset(dataset.name, write=True)
        encoded = [self.encode_tensor(f"{base}.{n}", a, d, at) for n, a, d, at in dataset.tensor_items()]
        dataset_io.write_dataset(self._transport, base, dataset, encoded)

    def get_dataset(self, name: str) -> Dataset:
        """The complete dataset ``name`` (tensors and metadata)."""
        return dataset_io.read_datasets(self._transport, [self._prefixes.dataset(name)])[0]

    def delete_dataset(self, name: str) -> None:
        """Delete a dataset's tensors and metadata; a missing dataset is an error."""
        dataset_io.delete_dataset(self._transport, self._prefixes.dataset(name))

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
        base = self._prefixes.dataset(name)
        return bool(self._transport.execute(base, "HEXISTS", dataset_io.meta_key(base), ".COMPLETE"))

    def poll_dataset(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for dataset ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        return poll(lambda: self.dataset_exists(name), poll_frequency_ms, num_tries)

    # -- aggregation lists -------------------------------------------------------------

    def append_to_list(self, list_name: str, dataset: Dataset) -> None:
        """Append a dataset (by its key) to aggregation list ``list_name``.

        The dataset itself is stored with :meth:`put_dataset`.
        """
        key = self._prefixes.list(list_name, write=True)
        self._transport.execute(key, "RPUSH", key, self._prefixes.dataset(dataset.name, write=True))

    def delete_list(self, list_name: str) -> None:
        """Delete an aggregation list (not the datasets it names)."""
        key = self._prefixes.list(list_name)
        self._transport.execute(key, "UNLINK", key)

    def _list_entries(self, list_name: str, start: int = 0, end: int = -1) -> list[str]:
        key = self._prefixes.list(list_name)
        entries = self._transport.execute(key, "LRANGE", key, start, end)
        return [e.decode() for e in entries]

    def copy_list(self, src_name: str, dest_name: str) -> None:
        """Copy an aggregation list's entries to a new list (replacing it)."""
        entries = self._list_entries(src_name)
        if not entries and not self.key_exists(self._prefixes.list(src_name)):
            raise KeyNotFoundError(f"aggregation list {self._prefixes.list(src_name)!r} does not exist")
        dest = self._prefixes.list(dest_name, write=True)
        commands = [("MULTI",), ("UNLINK", dest), ("RPUSH", dest, *entries), ("EXEC",)]
        replies = self._transport.run([Request(dest, commands)])
        tensors.check_transaction(replies[0], f"copy_list {src_name!r} -> {dest!r}")

    def rename_list(self, src_name: str, dest_name: str) -> None:
        """Move an aggregation list to a new name."""
        if self._prefixes.list(src_name) == self._prefixes.list(dest_name, write=True):
            return
        self.copy_list(src_name, dest_name)
        self.delete_list(src_name)

    def get_list_length(self, list_name: str) -> int:
        """Number of entries of aggregation list ``list_name`` (0 if it does not exist)."""
        key = self._prefixes.list(list_name)
        return int(self._transport.execute(key, "LLEN", key))

    def poll_list_length(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has exactly ``list_length`` entries."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, int.__eq__)

    def poll_list_length_gte(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has at least ``list_length`` entries."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, int.__ge__)

    def poll_list_length_lte(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has at most ``list_length`` entries."""
        return self._poll_length(name, list_length, poll_frequency_ms, num_tries, int.__le__)

    def _poll_length(self, name: str, length: int, frequency: int, tries: int, compare: Callable) -> bool:
        if length < 0:
            raise ValueError(f"list_length must be >= 0, got {length}")
        return poll(lambda: compare(self.get_list_length(name), length), frequency, tries)

    def get_datasets_from_list(self, list_name: str) -> list[Dataset]:
        """Every dataset named by aggregation list ``list_name``, in list order."""
        return self.get_dataset_list_range(list_name, 0, -1)

    def get_dataset_list_range(self, list_name: str, start_index: int, end_index: int) -> list[Dataset]:
        """Datasets at list positions ``start_index``..``end_index`` (inclusive; negatives count from the end)."""
        return dataset_io.read_datasets(self._transport, self._list_entries(list_name, start_index, end_index))

    # -- raw access ----------------------------------------------------------------

    def redis(self) -> Any:
        """A redis-py client on the same store, for commands simdask does not wrap (``INFO``, ...)."""
        import redis
        import redis.cluster

        options = self._options
        seeds = self._transport.seeds
        common = dict(password=options["password"], socket_connect_timeout=options["connect_timeout"])
        if seeds[0].is_unix:
            return redis.Redis(unix_socket_path=seeds[0].path, **common)
        if self.is_cluster:
            nodes = [redis.cluster.ClusterNode(a.host, a.port) for a in seeds]
            return redis.RedisCluster(startup_nodes=nodes, **common)
        return redis.Redis(host=seeds[0].host, port=seeds[0].port, **common)

    def keys(self, pattern: str = "*") -> list[str]:
        """Every raw key matching the glob ``pattern``, on every shard (``SCAN``, never ``KEYS``)."""
        return [key for group in self._transport.scan(pattern) for key in group]

    def flush(self) -> None:
        """Delete every key on every shard of the store (``FLUSHALL``)."""
        for node in self._transport.nodes():
            self._transport.execute_on(node, "FLUSHALL")
