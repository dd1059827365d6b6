"""``simdask.Client``: SmartRedis's Python API on simdask's store and wire format.

A SmartSim user ports by changing an import: method names and semantics are
SmartRedis's (tensors, datasets, aggregation lists, polling, ensemble key
prefixes). Beyond SmartRedis: batched ``put_tensors``/``get_tensors`` (one
round trip per shard), dimension names and attrs stored with each tensor,
``tensor_info`` (header only), and a picklable client for Dask workers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import numpy as np

from ..errors import KeyNotFoundError, RunNotFoundError
from ..protocol import Dataset, KeyPrefixes, Session, SessionOptions, dataset_io, lists, runs, tensors
from ..protocol.runs import RunInfo, RunList, RunScope, WriterIdentity, identity_from_env
from ..wire import TensorInfo
from .admin import AdminMethods
from .described import describe_dataarray
from .display import client_html, client_line
from .models import ModelMethods
from .polling import poll

__all__ = ["Client"]

_T = TypeVar("_T")


class Client(ModelMethods, AdminMethods):
    """A connection to a simdask store (standalone, Unix socket or cluster).

    Parameters
    ----------
    address
        ``host:port``, ``unix:///path`` or comma-separated cluster nodes;
        ``None`` reads ``SIMDASK_ADDRESS``.
    password
        ``None`` reads ``SIMDASK_PASSWORD``, else the credentials file that a
        store started by this user wrote for the address
        (:mod:`simdask.transport.credentials`); ``""`` sends none.
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
    key_prefix, key_prefixes_in
        The prefix this client writes under and the prefixes it may read from
        (``None``: ``SIMDASK_KEY_PREFIX``, ``SIMDASK_KEY_PREFIXES_IN``).
    data_source
        The prefix reads use (``None``: the first of ``key_prefixes_in``, else
        ``key_prefix``; ``""``: unprefixed names, SmartRedis's rule when it has
        no incoming prefix). See :meth:`set_data_source`.
    launcher_runs
        Whether an MPI or srun launch makes this process a writer of a run
        (``docs/protocol.md``, "Runs", rules 2-3; default True). False: only
        ``SIMDASK_RUN_ID`` or :meth:`begin_run` do, so that the keys keep
        SmartRedis's names (the ``smartredis`` package's choice).

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
        key_prefix: str | None = None,
        key_prefixes_in: Sequence[str] | None = None,
        data_source: str | None = None,
        launcher_runs: bool = True,
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
        if key_prefix is not None or key_prefixes_in is not None:
            self._prefixes = KeyPrefixes(
                put_prefix=self._prefixes.put_prefix if key_prefix is None else key_prefix,
                incoming=self._prefixes.incoming if key_prefixes_in is None else tuple(key_prefixes_in),
            )
        if data_source == "":
            self._prefixes.source = ""
        elif data_source is not None:
            self._prefixes.set_data_source(data_source)
        self._runs = RunScope(self._session, self._prefixes.put_prefix, identity_from_env(launcher=launcher_runs))
        self._prefixes.scope = self._runs
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
        """End this client's part of its run (if it writes in one), close idle connections.

        The client reconnects if used again.
        """
        try:
            self._runs.end(begin_first=False)
        finally:
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
        assert isinstance(self._prefixes.scope, RunScope)
        self._runs = self._prefixes.scope

    def __repr__(self) -> str:
        return client_line(self)

    def _repr_html_(self) -> str:
        """Jupyter's view: address, cluster or not, key prefixes, the run it writes in."""
        return client_html(self)

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

    def set_data_source(self, source_id: str, run: int | str | None = None) -> None:
        """Read from ``source_id``: a prefix in ``SIMDASK_KEY_PREFIXES_IN`` or this client's own.

        ``run``: read that run of the group (its number or id); ``None``: its
        current run, looked up at the next read (``docs/protocol.md``, "Runs").
        """
        number = None if run is None else runs.find_run(self._session, source_id, run)
        self._prefixes.set_data_source(source_id)
        self._runs.read_run(source_id, number)

    # -- runs ------------------------------------------------------------------------

    @property
    def run(self) -> int | None:
        """The number of the run this client writes in (``None``: none, or not begun yet)."""
        return self._runs.run

    def begin_run(self, run_id: str | None = None, *, writer: int = 0, writers: int = 1) -> int:
        """Begin (or join) a run of this client's writer group now; its number.

        Writers sharing ``run_id`` (each with its own ``writer`` index out of
        ``writers``) write one run; ``None`` takes ``SIMDASK_RUN_ID`` or the MPI
        launcher's job, else a new random id (one writer). A client launched by
        ``mpirun``/``srun``/an ``Experiment`` begins its run at its first write
        without this call.
        """
        identity = self._runs.identity if run_id is None else WriterIdentity(run_id, writer, writers)
        if identity is None and writers != 1:
            raise ValueError(f"a run of {writers} writers needs a run_id they share (or SIMDASK_RUN_ID)")
        return self._runs.begin(identity)

    def end_run(self) -> None:
        """End this writer's part of its run; the run has ended once all its writers have.

        Writes after it are refused (:meth:`begin_run` begins a new run); reads stay on the run.
        A rank of an ``mpirun``/``srun`` job that wrote nothing begins and ends its part here
        (closing the client does not), so that the run can end.
        """
        self._runs.end()

    def runs(self, prefix: str | None = None) -> RunList:
        """The runs of writer group ``prefix`` (default: the one this client reads), oldest first (a list; Jupyter
        shows a table)."""
        return runs.list_runs(self._session, self._group(prefix))

    def run_info(self, run: int | str | None = None, prefix: str | None = None) -> RunInfo:
        """Run ``run`` (number or id) of writer group ``prefix`` (default: the group's current run)."""
        group = self._group(prefix)
        number = runs.current_run(self._session, group) if run is None else runs.find_run(self._session, group, run)
        info = None if number is None else runs.run_info(self._session, group, number)
        if info is None:
            raise RunNotFoundError(
                f"writer group {group!r} has no run {run}" if run is not None else f"writer group {group!r} has no runs"
            )
        return info

    def delete_run(self, run: int | str, prefix: str | None = None, *, force: bool = False) -> int:
        """Delete every key of run ``run`` (number or id; refused while it runs unless ``force``); the keys deleted."""
        group = self._group(prefix)
        return runs.delete_run(self._session, group, runs.find_run(self._session, group, run), force=force)

    def prune_runs(self, keep: int, prefix: str | None = None) -> list[int]:
        """Delete all but the last ``keep`` finished runs of a writer group; the numbers deleted."""
        return runs.prune_runs(self._session, self._group(prefix), keep)

    def run_key_prefix(self, run: int | str | None = None, prefix: str | None = None) -> str:
        """The key prefix (with its trailing dot, or ``""``) of a run of a group, looked up now.

        ``run=None``: the group's current run, or its plain keys when it has
        none. Used by the bridge, which resolves the run afresh for each call.
        """
        if not self._prefixes.use_tensor_prefix:
            return ""
        group = self._group(prefix)
        if run is not None:
            return runs.key_prefix(group, runs.find_run(self._session, group, run))
        if self.current_run_lookup(prefix) is None:
            return runs.key_prefix(group, self._runs.run)
        return runs.key_prefix(group, runs.current_run(self._session, group))

    def current_run_lookup(self, prefix: str | None = None) -> str | None:
        """The writer group whose current run :meth:`run_key_prefix` (``run=None``) looks up in the store
        (:func:`~simdask.protocol.runs.current_run`), or ``None`` when it looks up nothing (no prefix, or this
        client's own run): the bridge sends that lookup along with its first ``SCAN``."""
        if not self._prefixes.use_tensor_prefix:
            return None
        group = self._group(prefix)
        return None if group == self._prefixes.put_prefix and self._runs.run is not None else group

    def reading_run(self, prefix: str | None = None) -> int | None:
        """The run this client's reads of a writer group use (``None``: plain keys, the group has no runs)."""
        scoped = self._runs.read_prefix(self._group(prefix))
        return int(scoped.rsplit("@", 1)[1]) if "@" in scoped else None

    def _fallbacks(self, key: str, prefixed: bool | None = None) -> list[str]:
        """Where a read of ``key`` looks next when it is missing (``docs/protocol.md``, "Runs"): the run of its
        group that has begun since this client found none; the plain key of a run-scoped key (written outside
        any run); and for a name ``q.rest`` naming writer group ``q`` (SmartSim's idiom for another member's
        tensor), ``rest`` in ``q``'s run. ``prefixed``: whether ``key`` has the read prefix (default: whether
        tensor names get it)."""
        group = self._prefixes.source
        on = self._prefixes.use_tensor_prefix if prefixed is None else prefixed
        scoped = self._runs.read_prefix(group) if on else ""
        base = scoped if "@" in scoped else (group if on else "")
        if base and not key.startswith(f"{base}."):
            return []
        name = key[len(base) + 1 :] if base else key
        found = []
        if "@" in scoped:
            found.append(f"{group}.{name}" if group else name)
        elif on and "@" in (again := self._runs.read_prefix(group, look_again=True)):
            found.append(f"{again}.{name}")
        head, dot, rest = name.partition(".")
        if dot and head and not any(c in head for c in "{},@"):
            other = self._runs.read_prefix(head, look_again=True)
            if "@" in other:
                found.append(f"{other}.{rest}")
        return found

    def _read(self, key: str, read: Callable[[str], _T]) -> _T:
        """``read(key)``; when it is missing, ``read`` of its :meth:`_fallbacks` in turn."""
        try:
            return read(key)
        except KeyNotFoundError as missing:
            fallbacks = self._fallbacks(key)
            for fallback in fallbacks:
                try:
                    return read(fallback)
                except KeyNotFoundError:
                    pass
            if not fallbacks:
                raise
            raise KeyNotFoundError(f"{missing} (nor at {', '.join(map(repr, fallbacks))})") from None

    def _read_many(
        self, names: Sequence[str], read: Callable[[list[str]], list[_T]], read_one: Callable[[str], _T]
    ) -> list[_T]:
        """``read`` of many tensors in one round trip; when one is missing and any has a fallback, one by one."""
        keys = [self._prefixes.tensor(n) for n in names]
        try:
            return read(keys)
        except KeyNotFoundError:
            if not any(self._fallbacks(k) for k in keys):
                raise
        return [read_one(n) for n in names]

    def _group(self, prefix: str | None) -> str:
        return self._prefixes.source if prefix is None else prefix

    @property
    def uses_tensor_prefix(self) -> bool:
        """Whether tensor names get the key prefix (and its run): :meth:`use_tensor_ensemble_prefix`."""
        return self._prefixes.use_tensor_prefix

    @property
    def data_source(self) -> str:
        """The prefix (writer group) reads use."""
        return self._prefixes.source

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
        coords: Mapping[str, Any] | None = None,
        block: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        """Store an array under ``name`` (replacing any previous value).

        C- and Fortran-contiguous arrays are sent without copying their data;
        other layouts are made contiguous first. Its description is stored
        with it (``docs/protocol.md``, "Describing a tensor"), all in the
        array's own index order: ``dims`` (one name per axis), ``attrs``
        (JSON-serialisable), ``coords`` (name -> a number or string, e.g. the
        model time of a step, or a 1-D sequence of numbers along the dimension
        of that name) and ``block`` (``{"shape": global shape, "start":
        offset}``: the array is that block of a global array, which
        :func:`simdask.open_dataset` assembles). A description that does not
        fit the array is a :class:`ValueError` naming the key.

        >>> client.put_tensor("theta_12_3", block_of_rank_3, dims=("z", "x"), attrs={"units": "K"},
        ...                   coords={"time": 12.5, "x": x_of_rank_3}, block={"shape": (nz, nx), "start": (0, x0)})
        ... # doctest: +SKIP

        An xarray DataArray brings its own dims, attrs and the coordinates a
        description can hold (:mod:`simdask.client.described`), unless given here.
        """
        data, dims, attrs, coords = describe_dataarray(data, dims, attrs, coords)
        session = self._session
        key = self._prefixes.tensor(name, write=True)
        encoded = tensors.encode_tensor(session, key, data, dims=dims, attrs=attrs, coords=coords, block=block)
        tensors.put_tensors(session, [encoded])

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
        return self._read(self._prefixes.tensor(name), lambda key: tensors.get_tensors(self._session, [key])[0][1])

    def get_tensors(self, names: Sequence[str]) -> list[np.ndarray]:
        """Many arrays in one pipelined round trip (per shard), in the order of ``names``."""
        return self._read_many(
            names, lambda keys: [array for _, array in tensors.get_tensors(self._session, keys)], self.get_tensor
        )

    def unpack_tensor(self, name: str, result: np.ndarray) -> None:
        """Fill the preallocated array ``result`` with the tensor ``name``.

        Its dtype and shape must match the stored tensor's. When its memory
        order matches too, the data are received straight into it.
        """
        self._read(self._prefixes.tensor(name), lambda key: tensors.unpack_tensor(self._session, key, result))

    def tensor_info(self, name: str) -> TensorInfo:
        """Shape, dtype, order, dims and attrs of a stored tensor, without reading its data."""
        return self._read(self._prefixes.tensor(name), lambda key: tensors.tensor_infos(self._session, [key])[0])

    def tensor_infos(self, names: Sequence[str]) -> list[TensorInfo]:
        """:meth:`tensor_info` of many tensors in one pipelined round trip."""
        return self._read_many(names, lambda keys: tensors.tensor_infos(self._session, keys), self.tensor_info)

    def delete_tensor(self, name: str, *, from_source: bool = False) -> None:
        """Delete a tensor this client wrote (write prefix) and its chunks; a missing tensor is not an error.

        ``from_source``: delete it at the read prefix instead (:meth:`set_data_source`), as SmartRedis does.
        """
        tensors.delete_tensors(self._session, [self._prefixes.tensor(name, write=not from_source)])

    def copy_tensor(self, src_name: str, dest_name: str) -> None:
        """Copy a tensor (data, dims and attrs) to a new name."""
        source, dest = self._prefixes.tensor(src_name), self._prefixes.tensor(dest_name, write=True)
        tensors.copy_tensor(self._session, source, dest)

    def rename_tensor(self, old_name: str, new_name: str) -> None:
        """Move a tensor to a new name (a copy, then a delete of the old name)."""
        source = self._prefixes.tensor(old_name)
        if source == self._prefixes.tensor(new_name, write=True):
            return
        self.copy_tensor(old_name, new_name)
        tensors.delete_tensors(self._session, [source])

    def tensor_exists(self, name: str) -> bool:
        """Whether the tensor ``name`` (with the read prefix) exists."""
        key = self._prefixes.tensor(name)
        return self.key_exists(key) or any(self.key_exists(k) for k in self._fallbacks(key))

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
        return self._read(self._prefixes.dataset(name), lambda key: dataset_io.get_datasets(self._session, [key])[0])

    def delete_dataset(self, name: str, *, from_source: bool = False) -> None:
        """Delete a dataset this client wrote (write prefix): tensors and metadata; a missing one is an error.

        ``from_source``: delete it at the read prefix instead (:meth:`set_data_source`), as SmartRedis does.
        """
        dataset_io.delete_dataset(self._session, self._prefixes.dataset(name, write=not from_source))

    def copy_dataset(self, src_name: str, dest_name: str) -> None:
        """Copy a dataset (tensors, dims, attrs, metadata) to a new name."""
        source = self.get_dataset(src_name)
        copy = Dataset(dest_name)
        for tensor, array, dims, attrs in source.tensor_items():
            copy.add_tensor(tensor, array, dims=dims, attrs=attrs, copy=False)  # fresh from the store
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
        source = self._prefixes.dataset(old_name)
        if source == self._prefixes.dataset(new_name, write=True):
            return
        self.copy_dataset(old_name, new_name)
        dataset_io.delete_dataset(self._session, source)

    def dataset_exists(self, name: str) -> bool:
        """Whether the dataset ``name`` exists completely."""
        key = self._prefixes.dataset(name)
        exists = dataset_io.dataset_exists
        return exists(self._session, key) or any(exists(self._session, k) for k in self._fallbacks(key))

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

    def delete_list(self, list_name: str, *, from_source: bool = False) -> None:
        """Delete an aggregation list this client wrote (write prefix), not the datasets it names.

        ``from_source``: delete it at the read prefix instead (:meth:`set_data_source`), as SmartRedis does.
        """
        lists.delete_list(self._session, self._prefixes.list(list_name, write=not from_source))

    def _list_read(self, list_name: str, read: Callable[[str], _T]) -> tuple[str, _T]:
        """``read`` of list ``list_name`` at its read key, and that key; when no list is there (an empty answer
        and no such key), at the first of its fallbacks that holds one (``docs/protocol.md``, "Runs").
        One round trip when the list is where it is read."""
        key = self._prefixes.list(list_name)
        result = read(key)
        if result or lists.list_length(self._session, key):
            return key, result
        for fallback in self._fallbacks(key, self._prefixes.use_list_prefix):
            if lists.list_length(self._session, fallback):
                return fallback, read(fallback)
        return key, result

    def _list_source(self, list_name: str) -> str:
        """The key list ``list_name`` is read at (:meth:`_list_read`)."""
        return self._list_read(list_name, lambda key: lists.list_length(self._session, key))[0]

    def copy_list(self, src_name: str, dest_name: str) -> None:
        """Copy an aggregation list's entries to a new list (replacing it)."""
        lists.copy_list(self._session, self._list_source(src_name), self._prefixes.list(dest_name, write=True))

    def rename_list(self, src_name: str, dest_name: str) -> None:
        """Move an aggregation list to a new name."""
        source = self._list_source(src_name)
        dest = self._prefixes.list(dest_name, write=True)
        if source == dest:
            return
        lists.copy_list(self._session, source, dest)
        lists.delete_list(self._session, source)

    def get_list_length(self, list_name: str) -> int:
        """Number of entries of aggregation list ``list_name`` (0 if it does not exist)."""
        return self._list_read(list_name, lambda key: lists.list_length(self._session, key))[1]

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
        """Datasets at list positions ``start_index`` to ``end_index`` (inclusive; negatives count from the end)."""
        entries = self._list_read(
            list_name, partial(lists.list_entries, self._session, start=start_index, end=end_index)
        )[1]
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
