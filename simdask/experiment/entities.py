"""What an experiment describes before it launches: stores, models, ensembles, Dask clusters.

Entities are made by :class:`~simdask.experiment.Experiment`'s ``create_*``
methods; they hold a description (and, once started, what is known of the
running thing), never a process.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import env as envvars
from ..errors import StoreError
from ..store.state import PASSWORD_FILE
from ..store.store import client_env
from .generate import GeneratorFiles
from .jobs import BatchSettings, Status
from .shell import check_args, check_env

if TYPE_CHECKING:
    from distributed import Client as DaskClient
    from distributed.deploy import Cluster
    from distributed.security import Security

__all__ = ["DaskCluster", "Ensemble", "Entity", "Model", "SMARTSIM_NAMES", "StoreEntity", "smartsim_env"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

#: SmartSim's variables that an experiment sets beside simdask's, so that SmartRedis programs run unchanged:
#: the store's address(es), its kind (``Standalone``/``Clustered``), the write prefix, the read prefixes.
SMARTSIM_NAMES = ("SSDB", "SR_DB_TYPE", "SSKEYOUT", "SSKEYIN")


def smartsim_env(env: Mapping[str, str], *, clustered: bool) -> dict[str, str]:
    """SmartSim's variables saying what the ``SIMDASK_*`` ones of ``env`` say: ``SSDB`` and ``SR_DB_TYPE``
    for ``SIMDASK_ADDRESS``, ``SSKEYOUT`` for ``SIMDASK_KEY_PREFIX``, ``SSKEYIN`` for ``SIMDASK_KEY_PREFIXES_IN``.

    >>> smartsim_env({"SIMDASK_ADDRESS": "n1:6379", "SIMDASK_KEY_PREFIX": "ens_0"}, clustered=False)
    {'SSDB': 'n1:6379', 'SR_DB_TYPE': 'Standalone', 'SSKEYOUT': 'ens_0'}
    """
    ssdb, db_type, keyout, keyin = SMARTSIM_NAMES
    names = {}
    if env.get(envvars.ADDRESS):
        names[ssdb] = env[envvars.ADDRESS]
        names[db_type] = "Clustered" if clustered else "Standalone"
    if env.get(envvars.KEY_PREFIX):
        names[keyout] = env[envvars.KEY_PREFIX]
    if env.get(envvars.KEY_PREFIXES_IN):
        names[keyin] = env[envvars.KEY_PREFIXES_IN]
    return names


class Entity:
    """Something an experiment launches, with its own run directory."""

    kind: ClassVar[str] = "entity"

    def __init__(self, name: str, path: Path) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"entity names are letters, digits, '_', '.' and '-' (no leading punctuation): {name!r}")
        self.name = name
        self.path = path

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class Model(Entity):
    """One application (serial or MPI): its command, its ranks, its environment and its input files.

    ``key_prefix`` is the prefix its tensors are written under
    (``SIMDASK_KEY_PREFIX`` and SmartSim's ``SSKEYOUT``; ensemble members have their name);
    ``incoming`` the prefixes it reads from (``SIMDASK_KEY_PREFIXES_IN`` and ``SSKEYIN``);
    ``run_id`` the run its last launch writes (``SIMDASK_RUN_ID``, ``docs/protocol.md``
    "Runs"): ``simdask.watch(..., run=model.run_id)`` follows that launch.
    """

    kind = "model"

    def __init__(
        self,
        name: str,
        exe: str,
        args: Sequence[Any] = (),
        *,
        path: Path,
        batch: BatchSettings,
        env: Mapping[str, str] | None = None,
        run_command: str | None = "auto",
        run_args: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(name, path)
        self.exe = _resolve_exe(check_args(f"exe of {name}", [exe])[0])
        self.args = check_args(f"args of {name}", args)
        self.batch = batch
        self.env = check_env(f"env of {name}", env or {})
        self.run_command = check_args(f"run_command of {name}", [run_command])[0] if run_command else run_command
        self.run_args = check_args(f"run_args of {name}", run_args)
        self.params = dict(params or {})
        self.key_prefix: str | None = None
        self.incoming: list[str] = []
        self.files = GeneratorFiles()
        self.colocated_store: StoreEntity | None = None
        self.run_id: str | None = None

    @property
    def members(self) -> list[Model]:
        return [self]

    def enable_key_prefixing(self) -> None:
        """Write tensors, datasets and lists under ``<name>.`` (``SIMDASK_KEY_PREFIX``), as ensemble members do."""
        self.key_prefix = self.name

    def register_incoming_entity(self, *entities: Model | Ensemble) -> None:
        """Let this model read what ``entities`` write (their prefixes go into ``SIMDASK_KEY_PREFIXES_IN``)."""
        for member in (m for e in entities for m in e.members):
            if member.key_prefix is None:
                raise ValueError(f"{member.name!r} writes unprefixed keys: call its enable_key_prefixing() first")
            if member.key_prefix not in self.incoming:
                self.incoming.append(member.key_prefix)

    def attach_generator_files(self, to_copy: Any = (), to_symlink: Any = (), to_configure: Any = ()) -> None:
        """Files for the run directory: copied, symlinked, or copied with ``;param;`` tags replaced by values."""
        self.files.add(to_copy, to_symlink, to_configure)

    def key_env(self) -> dict[str, str]:
        env = {}
        if self.key_prefix:
            env[envvars.KEY_PREFIX] = self.key_prefix
        if self.incoming:
            env[envvars.KEY_PREFIXES_IN] = ",".join(self.incoming)
        return env


class Ensemble(Entity):
    """Members ``{name}_0``, ``{name}_1``, ... of one application, each with its parameters and key prefix."""

    kind = "ensemble"

    def __init__(self, name: str, path: Path, members: Sequence[Model]) -> None:
        super().__init__(name, path)
        self._members = list(members)

    @property
    def members(self) -> list[Model]:
        return list(self._members)

    def __iter__(self) -> Any:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __getitem__(self, index: int) -> Model:
        return self._members[index]

    def register_incoming_entity(self, *entities: Model | Ensemble) -> None:
        """Every member may read what ``entities`` write."""
        for member in self._members:
            member.register_incoming_entity(*entities)

    def attach_generator_files(self, to_copy: Any = (), to_symlink: Any = (), to_configure: Any = ()) -> None:
        """The same files for every member (configured with each member's parameters)."""
        for member in self._members:
            member.attach_generator_files(to_copy, to_symlink, to_configure)


class StoreEntity(Entity):
    """A store the experiment launches: standalone, cluster (>= 3 shards), or co-located with a model.

    ``address`` and ``env`` are known once it runs (a co-located store's at once:
    a Unix socket at the same path on every node of its model). ``serve``
    serving loops run with it (``simdask store start --serve``). Its
    ``password`` is the one given, or the one the store generated once it
    runs (``""``: none); job scripts read it from :attr:`password_file`,
    never from their own text. A co-located store's password is made on
    each node; its model's ranks find it in their credentials files.
    """

    kind = "store"

    def __init__(
        self,
        name: str,
        path: Path,
        store_kind: str,
        *,
        shards: int = 3,
        port: int | None = None,
        interface: str | None = None,
        password: str | None = None,
        maxmemory: str | int | None = None,
        binary: str | None = None,
        batch: BatchSettings,
        model: Model | None = None,
        socket_path: str | None = None,
        serve: int = 0,
    ) -> None:
        super().__init__(name, path)
        self.store_kind = store_kind
        self.serve = serve
        self.shards = shards
        self.port = port
        self.interface = interface
        self.password = password
        self.maxmemory = maxmemory
        self.binary = binary
        self.batch = batch
        self.model = model
        self.socket_path = socket_path
        self._address: str | None = f"unix://{socket_path}" if socket_path else None

    @property
    def colocated(self) -> bool:
        return self.model is not None

    @property
    def address(self) -> str:
        """What ``SIMDASK_ADDRESS`` is for this store."""
        if self._address is None:
            raise StoreError(f"store {self.name!r} has not been started")
        return self._address

    @address.setter
    def address(self, address: str) -> None:  # the experiment sets it once the store is up
        self._address = address

    @property
    def clustered(self) -> bool:
        return self.store_kind == "cluster"

    @property
    def env(self) -> dict[str, str]:
        """The environment that points a process at this store (the password included: for this machine's
        processes), SmartSim's ``SSDB`` and ``SR_DB_TYPE`` included."""
        variables = client_env(self.address, self.password)
        return {**variables, **smartsim_env(variables, clustered=self.clustered)}

    @property
    def password_file(self) -> Path | None:
        """The store's ``password`` file (0600, in its run directory), when it has a password."""
        return self.path / PASSWORD_FILE if self.password and not self.colocated else None

    @property
    def job_env(self) -> dict[str, str]:
        """What a job script exports as it is: the address, also as SmartSim's ``SSDB`` and ``SR_DB_TYPE``
        (the password is in :attr:`env_files`)."""
        variables = client_env(self.address, None)
        return {**variables, **smartsim_env(variables, clustered=self.clustered)}

    @property
    def env_files(self) -> dict[str, Path]:
        """Variables a job script reads from files: ``SIMDASK_PASSWORD`` from :attr:`password_file`."""
        return {envvars.PASSWORD: self.password_file} if self.password_file else {}


class DaskCluster(Entity):
    """A Dask cluster for analysis and inference: local, or workers as Slurm/PBS jobs (dask-jobqueue).

    Once started, ``cluster`` is the ``distributed`` cluster object and
    :meth:`get_client` connects to it.
    """

    kind = "dask cluster"

    def __init__(self, name: str, path: Path, workers: int, options: Mapping[str, Any]) -> None:
        super().__init__(name, path)
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
        self.workers = workers
        self.options = dict(options)
        self.cluster: Cluster | None = None
        self.status = Status.NEW
        self._clients: list[DaskClient] = []

    @property
    def gpus_per_worker(self) -> int:
        return int(self.options.get("gpus_per_worker", 0))

    @property
    def security(self) -> Security | None:
        """The running cluster's TLS certificates: another ``distributed.Client(address, security=...)`` needs them."""
        return getattr(self.cluster, "security", None)

    def job_ids(self) -> list[str]:
        """Batch job ids of the workers (dask-jobqueue); none for a local cluster."""
        if self.cluster is None:
            return []
        jobs: Iterable[Any] = getattr(self.cluster, "workers", {}).values()
        return [str(j.job_id) for j in jobs if getattr(j, "job_id", None)]

    def get_client(self, *, wait_for_workers: int | None = None, timeout: float = 300) -> DaskClient:
        """A ``distributed.Client`` on the cluster, after ``wait_for_workers`` workers joined (all by default)."""
        if self.cluster is None:
            raise RuntimeError(f"Dask cluster {self.name!r} has not been started")
        from distributed import Client as DaskClient

        client = DaskClient(self.cluster, timeout=timeout)
        self._clients.append(client)
        count = self.workers if wait_for_workers is None else wait_for_workers
        if count:
            client.wait_for_workers(count, timeout=timeout)
        return client

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def _resolve_exe(exe: str) -> str:
    """A program on PATH or a path (made absolute, so that it runs from the run directory)."""
    exe = str(exe)
    if "/" in exe:
        return os.path.abspath(exe)  # not resolved: a venv's python is a symlink that must stay one
    return shutil.which(exe) or exe
