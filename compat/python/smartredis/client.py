"""``Client``: SmartRedis 0.6's Client over :class:`simdask.Client`.

Names, arguments, return values and errors are SmartRedis's; every call
checks its arguments' types first (``TypeError``, before anything is sent),
then calls :class:`simdask.Client`, whose errors come out as SmartRedis's
(:mod:`smartredis.error`). Keys are SmartRedis's layout, so data written
here and by simdask's own clients (Python, C, Fortran) is the same data.
``Client`` takes its model, script and function calls from
:class:`~smartredis._models.ModelCalls` and its server calls from
:class:`~smartredis._server.ServerCalls`.
"""

from __future__ import annotations

import io
import os
from typing import Any, NamedTuple

import numpy as np

import simdask
from simdask import env

from ._models import ModelCalls
from ._server import ServerCalls
from .configoptions import (
    SR_CMD_INTERVAL,
    SR_CMD_TIMEOUT,
    SR_CONN_INTERVAL,
    SR_CONN_TIMEOUT,
    SR_DB_TYPE,
    SR_THREAD_COUNT,
    SSDB,
    SSKEYIN,
    SSKEYOUT,
    ConfigOptions,
)
from .dataset import Dataset
from .error import RedisConnectionError, RedisRuntimeError
from .logger import LLDebug, configure_logging, log_data
from .srobject import SRObject
from .util import Dtypes, exception_handler, typecheck

__all__ = ["Client"]

#: The largest timeout SmartRedis accepts, in seconds (its milliseconds must fit an int).
_MAX_SECONDS = (2**31 - 1) // 1000
#: Characters a store address may hold (SmartRedis's, plus the brackets of an IPv6 address).
_ADDRESS_CHARACTERS = frozenset(".:,/_-[]")


class _Connection(NamedTuple):
    """What a construction made: the simdask client, the prefixes reads may name, the log context."""

    core: simdask.Client
    sources: tuple[str, ...]
    logger_name: str


def _store_address(address: str, variable: str) -> str:
    """``SSDB`` as simdask reads it: ``tcp://`` dropped, empty entries (``a:1,``) dropped."""
    for character in address:
        if not (character.isalnum() or character in _ADDRESS_CHARACTERS):
            raise RedisConnectionError(f"The provided {variable} value, {address} is invalid because of {character!r}")
    entries = [e.strip() for e in address.split(",") if e.strip()]
    return ",".join(e[len("tcp://") :] if e.startswith("tcp://") else e for e in entries)


def _connect(options: ConfigOptions, logger_name: str) -> _Connection:
    """A simdask client as ``options`` and the environment say (docs/smartredis.md, "Environment")."""
    typecheck(logger_name, "logger_name", str)
    configure_logging()
    suffix = f"_{options.suffix}" if options.suffix else ""
    plain = not options.suffix  # simdask's own variables apply beside the unsuffixed SmartRedis names
    address = options.resolve_string(SSDB) or (os.environ.get(env.ADDRESS, "") if plain else "")
    if not address.strip():
        raise RedisConnectionError(f"Could not connect to database. ${SSDB}{suffix} not set")
    options.resolve_string(SR_DB_TYPE)  # Standalone or Clustered: simdask asks the store which it is
    connect_timeout = options.resolve_integer(SR_CONN_TIMEOUT, minimum=1, limit=_MAX_SECONDS)
    command_timeout = options.resolve_integer(SR_CMD_TIMEOUT, minimum=1, limit=_MAX_SECONDS)
    for name, minimum in ((SR_CONN_INTERVAL, 1), (SR_CMD_INTERVAL, 1), (SR_THREAD_COUNT, 0)):
        options.resolve_integer(name, minimum=minimum)  # validated as SmartRedis does; no effect here
    put = options.resolve_string(SSKEYOUT)
    incoming = options.resolve_string(SSKEYIN)
    if plain:
        put = os.environ.get(env.KEY_PREFIX, "") if put is None else put
        incoming = os.environ.get(env.KEY_PREFIXES_IN, "") if incoming is None else incoming
    sources = tuple(p for p in (incoming or "").split(",") if p)
    store = _store_address(address, SSDB + suffix)
    try:
        core = simdask.Client(
            store,
            connect_timeout=connect_timeout,
            socket_timeout=command_timeout,
            key_prefix=put or "",
            key_prefixes_in=sources,
            data_source=sources[0] if sources else "",  # SmartRedis: no SSKEYIN, reads are not prefixed
            launcher_runs=False,  # SmartRedis's key names under mpirun/srun; SIMDASK_RUN_ID still makes runs
        )
    except (simdask.SimdaskError, ValueError, OSError) as exc:
        raise RedisConnectionError(str(exc)) from None
    log_data(logger_name, LLDebug, f"New client created (store {core.address})")
    return _Connection(core, sources, logger_name)


class Client(ModelCalls, ServerCalls, SRObject):
    """A connection to a simdask store with SmartRedis's API.

    Two ways to make one (SmartRedis 0.6's)::

        Client(config_options: ConfigOptions | None = None, logger_name: str = "Default")
        Client(cluster: bool, address: str | None = None, logger_name: str = "Default")

    The first reads the store's address and the key prefixes from the
    environment (``SSDB``, ``SSKEYIN``, ...; with the suffix ``config_options``
    was made with). The second sets ``SSDB`` to ``address`` when one is given;
    older SmartRedis's order ``Client(address, cluster)`` is accepted too.
    ``cluster`` and ``SR_DB_TYPE`` are not needed: simdask asks the store
    whether it is a cluster. A store that cannot be reached raises
    :class:`~smartredis.error.RedisConnectionError`.
    """

    def __init__(self, *a: Any, **kw: Any) -> None:
        if a and isinstance(a[0], bool):
            unexpected = set(kw) - {"cluster", "address", "logger_name"}
            if unexpected:
                raise TypeError(f"__init__() got an unexpected keyword argument {sorted(unexpected)[0]!r}")
            connection = self.__address_construction(*a, **kw)
        elif a and isinstance(a[0], str):  # SmartRedis before 0.5: Client(address, cluster, logger_name)
            named = dict(zip(("address", "cluster", "logger_name"), a))
            if len(a) > 3 or set(named) & set(kw):
                raise TypeError("Client(address, cluster, logger_name): too many or repeated arguments")
            connection = self.__address_construction(**named, **kw)
        elif a and not (a[0] is None or isinstance(a[0], ConfigOptions)):
            raise TypeError(f"Invalid type for argument 0: {type(a[0])}")
        elif not a and ("address" in kw or "cluster" in kw):
            connection = self.__address_construction(**kw)
        else:
            connection = self.__standard_construction(*a, **kw)
        super().__init__(connection.logger_name)
        self._core = connection.core
        self._sources = connection.sources

    def __address_construction(
        self, cluster: bool = False, address: str | None = None, logger_name: str = "Default"
    ) -> _Connection:
        """The deprecated form: ``address`` (if given) becomes ``SSDB``; ``cluster`` is not needed."""
        if address:
            typecheck(address, "address", str)
            os.environ[SSDB] = address
        if not os.environ.get(SSDB) and not os.environ.get(env.ADDRESS):
            raise RedisConnectionError(f"Could not connect to database. ${SSDB} not set")
        return _connect(ConfigOptions.create_from_environment(""), logger_name)

    @staticmethod
    def __standard_construction(
        config_options: ConfigOptions | None = None, logger_name: str = "Default"
    ) -> _Connection:
        """Settings from ``config_options`` (``None``: the environment, no suffix)."""
        if config_options is None:
            config_options = ConfigOptions.create_from_environment("")
        typecheck(config_options, "config_options", ConfigOptions)
        return _connect(config_options, logger_name)

    @property
    def simdask_client(self) -> simdask.Client:
        """The :class:`simdask.Client` underneath (runs, xarray, batched calls: simdask's own API)."""
        return self._core

    def __str__(self) -> str:
        core = self._core
        kind = "Unix socket" if core.address.startswith("unix://") else "cluster" if core.is_cluster else "TCP"
        return (
            f"Client ({self._name}):\n  simdask store at {core.address} ({kind})\n"
            f"  Tensor 'name' written as {core.tensor_key('name', write=True)!r}, "
            f"read as {core.tensor_key('name')!r}"
        )

    def __repr__(self) -> str:
        return f"<smartredis.Client {self._name!r} on simdask store {self._core.address}>"

    # -- tensors -----------------------------------------------------------------

    @exception_handler
    def put_tensor(self, name: str, data: np.ndarray) -> None:
        """Store ``data`` under ``name`` (with the write prefix)."""
        typecheck(name, "name", str)
        typecheck(data, "data", np.ndarray)
        Dtypes.tensor_from_numpy(data)
        self._core.put_tensor(name, data)

    @exception_handler
    def get_tensor(self, name: str) -> np.ndarray:
        """The tensor stored under ``name`` (with the read prefix)."""
        typecheck(name, "name", str)
        return self._core.get_tensor(name)

    @exception_handler
    def put_bytes(self, name: str, data: io.BytesIO) -> None:
        """Store raw bytes under ``name`` (as a 1-D uint8 tensor: readable with get_tensor too)."""
        typecheck(name, "name", str)
        typecheck(data, "data", io.BytesIO)
        self._core.put_tensor(name, np.frombuffer(data.getvalue(), dtype=np.uint8))

    @exception_handler
    def get_bytes(self, name: str) -> io.BytesIO:
        """The bytes stored under ``name`` by :meth:`put_bytes`."""
        typecheck(name, "name", str)
        return io.BytesIO(self._core.get_tensor(name).tobytes())

    @exception_handler
    def delete_tensor(self, name: str) -> None:
        """Delete tensor ``name`` (with the read prefix, as SmartRedis does)."""
        typecheck(name, "name", str)
        self._core.delete_tensor(name, from_source=True)

    @exception_handler
    def copy_tensor(self, src_name: str, dest_name: str) -> None:
        """Copy tensor ``src_name`` (read prefix) to ``dest_name`` (write prefix)."""
        typecheck(src_name, "src_name", str)
        typecheck(dest_name, "dest_name", str)
        self._core.copy_tensor(src_name, dest_name)

    @exception_handler
    def rename_tensor(self, old_name: str, new_name: str) -> None:
        """Move tensor ``old_name`` (read prefix) to ``new_name`` (write prefix)."""
        typecheck(old_name, "old_name", str)
        typecheck(new_name, "new_name", str)
        self._core.rename_tensor(old_name, new_name)

    # -- datasets ----------------------------------------------------------------

    @exception_handler
    def put_dataset(self, dataset: Dataset) -> None:
        """Store a dataset: its tensors and metadata appear together."""
        typecheck(dataset, "dataset", Dataset)
        data = dataset.get_data()
        if data.is_empty():
            raise RedisRuntimeError(f"DataSet {data.get_name()!r} has no tensors and no metadata fields to put")
        self._core.put_dataset(data)

    @exception_handler
    def get_dataset(self, name: str) -> Dataset:
        """The dataset ``name`` (:class:`~smartredis.error.RedisKeyError` when there is none)."""
        typecheck(name, "name", str)
        return Dataset.from_pybind(self._core.get_dataset(name))

    @exception_handler
    def delete_dataset(self, name: str) -> None:
        """Delete dataset ``name`` (with the read prefix, as SmartRedis does)."""
        typecheck(name, "name", str)
        self._core.delete_dataset(name, from_source=True)

    @exception_handler
    def copy_dataset(self, src_name: str, dest_name: str) -> None:
        """Copy dataset ``src_name`` to ``dest_name``."""
        typecheck(src_name, "src_name", str)
        typecheck(dest_name, "dest_name", str)
        self._core.copy_dataset(src_name, dest_name)

    @exception_handler
    def rename_dataset(self, old_name: str, new_name: str) -> None:
        """Move dataset ``old_name`` to ``new_name``."""
        typecheck(old_name, "old_name", str)
        typecheck(new_name, "new_name", str)
        self._core.rename_dataset(old_name, new_name)

    # -- existence and polling ---------------------------------------------------

    @exception_handler
    def tensor_exists(self, name: str) -> bool:
        """Whether tensor ``name`` exists (read prefix)."""
        typecheck(name, "name", str)
        return self._core.tensor_exists(name)

    @exception_handler
    def dataset_exists(self, name: str) -> bool:
        """Whether dataset ``name`` exists completely (read prefix)."""
        typecheck(name, "name", str)
        return self._core.dataset_exists(name)

    @exception_handler
    def model_exists(self, name: str) -> bool:
        """Whether a model or a script named ``name`` exists."""
        typecheck(name, "name", str)
        return self._core.model_exists(name)

    @exception_handler
    def key_exists(self, key: str) -> bool:
        """Whether the raw store key ``key`` exists (no prefix applied)."""
        typecheck(key, "key", str)
        return self._core.key_exists(key)

    @exception_handler
    def poll_key(self, key: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for the raw ``key`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        typecheck(key, "key", str)
        typecheck(poll_frequency_ms, "poll_frequency_ms", int)
        typecheck(num_tries, "num_tries", int)
        return self._core.poll_key(key, poll_frequency_ms, num_tries)

    @exception_handler
    def poll_tensor(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for tensor ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        typecheck(name, "name", str)
        typecheck(poll_frequency_ms, "poll_frequency_ms", int)
        typecheck(num_tries, "num_tries", int)
        return self._core.poll_tensor(name, poll_frequency_ms, num_tries)

    @exception_handler
    def poll_dataset(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for dataset ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        typecheck(name, "name", str)
        typecheck(poll_frequency_ms, "poll_frequency_ms", int)
        typecheck(num_tries, "num_tries", int)
        return self._core.poll_dataset(name, poll_frequency_ms, num_tries)

    @exception_handler
    def poll_model(self, name: str, poll_frequency_ms: int, num_tries: int) -> bool:
        """Check for model or script ``name`` up to ``num_tries`` times, ``poll_frequency_ms`` apart."""
        typecheck(name, "name", str)
        typecheck(poll_frequency_ms, "poll_frequency_ms", int)
        typecheck(num_tries, "num_tries", int)
        return self._core.poll_model(name, poll_frequency_ms, num_tries)

    # -- key prefixes --------------------------------------------------------------

    @exception_handler
    def set_data_source(self, source_id: str) -> None:
        """Read from prefix ``source_id``, one of ``SSKEYIN``'s."""
        typecheck(source_id, "source_id", str)
        if source_id not in self._sources:
            known = ", ".join(self._sources) or f"none: {SSKEYIN} is not set"
            raise RedisRuntimeError(
                f"Client error: data source {source_id} could not be found during client initialization "
                f"({SSKEYIN}: {known})"
            )
        self._core.set_data_source(source_id)

    @exception_handler
    def use_model_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether model and script names get the prefixes (default False)."""
        typecheck(use_prefix, "use_prefix", bool)
        self._core.use_model_ensemble_prefix(use_prefix)

    @exception_handler
    def use_list_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether aggregation list names get the prefixes (default True)."""
        typecheck(use_prefix, "use_prefix", bool)
        self._core.use_list_ensemble_prefix(use_prefix)

    @exception_handler
    def use_tensor_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether tensor names get the prefixes (default True)."""
        typecheck(use_prefix, "use_prefix", bool)
        self._core.use_tensor_ensemble_prefix(use_prefix)

    @exception_handler
    def use_dataset_ensemble_prefix(self, use_prefix: bool) -> None:
        """Whether dataset names get the prefixes (default True)."""
        typecheck(use_prefix, "use_prefix", bool)
        self._core.use_dataset_ensemble_prefix(use_prefix)

    # -- aggregation lists -----------------------------------------------------------

    @exception_handler
    def append_to_list(self, list_name: str, dataset: Dataset) -> None:
        """Append dataset ``dataset`` (put with :meth:`put_dataset`) to aggregation list ``list_name``."""
        typecheck(list_name, "list_name", str)
        typecheck(dataset, "dataset", Dataset)
        self._core.append_to_list(list_name, dataset.get_data())

    @exception_handler
    def delete_list(self, list_name: str) -> None:
        """Delete aggregation list ``list_name`` (read prefix), not its datasets; a missing list is no error."""
        typecheck(list_name, "list_name", str)
        self._core.delete_list(list_name, from_source=True)

    @exception_handler
    def copy_list(self, src_name: str, dest_name: str) -> None:
        """Copy aggregation list ``src_name`` to ``dest_name`` (replacing it)."""
        typecheck(src_name, "src_name", str)
        typecheck(dest_name, "dest_name", str)
        if src_name != dest_name:
            self._core.copy_list(src_name, dest_name)

    @exception_handler
    def rename_list(self, src_name: str, dest_name: str) -> None:
        """Move aggregation list ``src_name`` to ``dest_name``."""
        typecheck(src_name, "src_name", str)
        typecheck(dest_name, "dest_name", str)
        if src_name != dest_name:
            self._core.rename_list(src_name, dest_name)

    @exception_handler
    def get_list_length(self, list_name: str) -> int:
        """Number of entries of aggregation list ``list_name`` (0 when it does not exist)."""
        typecheck(list_name, "list_name", str)
        return self._core.get_list_length(list_name)

    @exception_handler
    def poll_list_length(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has exactly ``list_length`` entries; False after ``num_tries`` checks."""
        self._check_poll(name, list_length, poll_frequency_ms, num_tries)
        return self._core.poll_list_length(name, list_length, poll_frequency_ms, num_tries)

    @exception_handler
    def poll_list_length_gte(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has at least ``list_length`` entries."""
        self._check_poll(name, list_length, poll_frequency_ms, num_tries)
        return self._core.poll_list_length_gte(name, list_length, poll_frequency_ms, num_tries)

    @exception_handler
    def poll_list_length_lte(self, name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> bool:
        """Wait until the list has at most ``list_length`` entries."""
        self._check_poll(name, list_length, poll_frequency_ms, num_tries)
        return self._core.poll_list_length_lte(name, list_length, poll_frequency_ms, num_tries)

    @staticmethod
    def _check_poll(name: str, list_length: int, poll_frequency_ms: int, num_tries: int) -> None:
        typecheck(name, "name", str)
        typecheck(list_length, "list_length", int)
        typecheck(poll_frequency_ms, "poll_frequency_ms", int)
        typecheck(num_tries, "num_tries", int)

    @exception_handler
    def get_datasets_from_list(self, list_name: str) -> list[Dataset]:
        """Every dataset of aggregation list ``list_name``, in list order (none for a missing list)."""
        typecheck(list_name, "list_name", str)
        return [Dataset.from_pybind(d) for d in self._core.get_datasets_from_list(list_name)]

    @exception_handler
    def get_dataset_list_range(self, list_name: str, start_index: int, end_index: int) -> list[Dataset]:
        """Datasets at list positions ``start_index``..``end_index`` (inclusive; negatives count from the end)."""
        typecheck(list_name, "list_name", str)
        typecheck(start_index, "start_index", int)
        typecheck(end_index, "end_index", int)
        datasets = self._core.get_dataset_list_range(list_name, start_index, end_index)
        return [Dataset.from_pybind(d) for d in datasets]
