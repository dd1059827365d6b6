"""``simdask.Experiment``: describe a coupled workflow's entities, then launch them here, on Slurm or on PBS.

A store starts first and must be ready before anything that uses it
launches; models and Dask workers get its address (``SIMDASK_ADDRESS``, and
SmartSim's ``SSDB``/``SR_DB_TYPE``, so that SmartRedis programs run
unchanged), models their key prefixes (``SIMDASK_KEY_PREFIX`` and
``SSKEYOUT``, ``SIMDASK_KEY_PREFIXES_IN`` and ``SSKEYIN``).
Every wait has a timeout; ``stop()``, leaving a ``with`` block, Ctrl-C during
``start``/``wait`` and the end of the Python process stop what the
experiment launched (processes, batch jobs, Dask workers).
"""

from __future__ import annotations

import atexit
import logging
import secrets
import shlex
import shutil
import sys
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import _progress as progress
from .. import config
from .. import env as envvars
from ..client import Client
from ..errors import EntityStateError, ExperimentTimeoutError, JobFailedError, SimdaskError, StoreError, StoreStartError
from ..protocol.runs import record_launch
from ..store import Store, find_server_binary
from ..store.files import private_dir, write_private
from ..store.state import in_use, read_state
from ..store.store import check_password
from .dask_cluster import start_dask_cluster
from .display import experiment_html, experiment_line
from .ensemble import PermStrategy, expand_params
from .entities import DaskCluster, Ensemble, Entity, Model, StoreEntity, smartsim_env
from .generate import generate_run_dir
from .jobs import BatchSettings, Job, JobScript, Status
from .launchers import get_launcher
from .scripts import colocated_lines, record_exit, spread_cluster_lines, store_command
from .shell import check_directive, check_name, check_walltime
from .summary import Summary, SummaryRow

__all__ = ["Experiment"]

log = logging.getLogger("simdask.experiment")

#: Experiments that launched something and were not stopped as a whole: held (a notebook cell run again rebinds
#: its name, and the first experiment's store must still stop at exit), stopped at exit.
_LIVE: set[Experiment] = set()
_STORE_KINDS = ("standalone", "cluster", "colocated")


class Experiment:
    """A coupled workflow: stores, models, ensembles and Dask clusters, launched by one launcher.

    Parameters
    ----------
    name
        Name of the experiment (and of its folder).
    exp_path
        Folder of the run directories (default: ``./<name>``).
    launcher
        ``"local"`` (processes here), ``"slurm"``, ``"pbs"``, or ``"auto"``
        (Slurm inside a Slurm job or where ``sbatch`` exists, then PBS, else
        local); default ``simdask.experiment.launcher`` (``"local"``).

    Examples
    --------
    >>> exp = simdask.Experiment("coupled", launcher="auto")             # doctest: +SKIP
    >>> store = exp.create_store()                                       # doctest: +SKIP
    >>> sim = exp.create_model("sim", "./sim", nodes=2, tasks_per_node=32)  # doctest: +SKIP
    >>> dask = exp.create_dask_cluster(workers=4, gpus_per_worker=1)     # doctest: +SKIP
    >>> exp.start(store, sim, dask)                                      # doctest: +SKIP
    >>> client = dask.get_client()                                       # doctest: +SKIP
    >>> exp.wait(sim, timeout=3600); exp.stop()                          # doctest: +SKIP
    """

    def __init__(self, name: str, exp_path: str | Path | None = None, launcher: str | None = None) -> None:
        if not name or "/" in name:
            raise ValueError(f"an experiment name is a non-empty folder name, got {name!r}")
        self.name = name
        self.exp_path = Path(exp_path if exp_path is not None else Path.cwd() / name).resolve()
        self._launcher = get_launcher(launcher or config.get("experiment.launcher"))
        self._entities: dict[str, Entity] = {}
        self._jobs: dict[str, Job] = {}
        self._generated: set[str] = set()

    @property
    def launcher(self) -> str:
        """``"local"``, ``"slurm"`` or ``"pbs"`` (what ``"auto"`` found)."""
        return self._launcher.name

    # -- describing ------------------------------------------------------------------

    def create_store(
        self,
        name: str | None = None,
        kind: str = "standalone",
        *,
        shards: int = 3,
        port: int | None = None,
        interface: str | None = None,
        password: str | None = None,
        maxmemory: str | int | None = None,
        model: Model | None = None,
        binary: str | None = None,
        walltime: str | None = None,
        queue: str | None = None,
        account: str | None = None,
        directives: Sequence[str] = (),
        serve: int = 0,
        nodes: int = 1,
    ) -> StoreEntity:
        """A store: ``"standalone"``, ``"cluster"`` (``shards`` >= 3 servers) or ``"colocated"`` with ``model``.

        A standalone or cluster store runs as its own job (a job step inside an
        allocation), bound to ``interface`` (an interface name such as ``ib0``,
        or an IP; default ``simdask.experiment.interface``, else the node's host
        name under a batch launcher and 127.0.0.1 locally). An experiment has
        at most one such store, and everything it launches gets its address. A
        co-located store is one server per node of ``model`` on a Unix socket,
        started in the model's job before its ranks and stopped after them;
        only that model gets its address.

        Under Slurm or PBS, a cluster store's job spans ``nodes`` nodes and
        its shards run on all of them (``shards`` over ``nodes``, rounded
        up, per node), each tagged with its node, then form one cluster:
        each node holds part of the data, and Dask tasks that read it are
        placed on that node's workers (``docs/locality.md``).

        Every store has a password: ``password``, else one the store
        generates (``password=""``: none, for a store on loopback only). Jobs
        read it from the store's ``password`` file (0600), never from their
        script; processes of the same user find it in their credentials files.

        ``serve`` serving loops run with the store, in its job (one process
        beside each server of a co-located store), as RedisAI ran models
        inside the database: ``run_model``/``run_script`` need no Dask
        cluster (``simdask.Store(serve=N)``). An ``InferenceServer`` on the
        experiment's Dask cluster is the path that scales.
        """
        if isinstance(serve, bool) or not isinstance(serve, int) or serve < 0:
            raise ValueError(f"serve must be a number of serving loops >= 0, got {serve!r}")
        if kind not in _STORE_KINDS:
            raise ValueError(f"kind must be one of {', '.join(_STORE_KINDS)}, got {kind!r}")
        if kind == "cluster" and shards < 3:
            raise ValueError(f"a cluster store needs at least 3 shards, got {shards}")
        if nodes != 1 and (kind != "cluster" or not self._launcher.batch_system or nodes < 1):
            raise ValueError(f"nodes={nodes}: only a cluster store spans nodes, under a batch launcher (Slurm, PBS)")
        if (kind == "colocated") != (model is not None):
            raise ValueError("a co-located store needs model=..., and only a co-located one takes a model")
        if password is not None:
            check_password(password)
        if interface is not None:
            check_name("interface", interface)
        if model is not None:
            if model.name not in self._entities and not any(model in e.members for e in self._groups()):
                raise EntityStateError(f"model {model.name!r} does not belong to experiment {self.name!r}")
            if model.colocated_store is not None:
                raise EntityStateError(f"model {model.name!r} already has a co-located store")
            name = name or f"{model.name}_store"
            folder = config.get("experiment.colocated-socket-dir") or "/tmp"
            socket_path = f"{folder}/simdask-{uuid.uuid4().hex[:12]}.sock"
            store = StoreEntity(
                name,
                model.path,
                "colocated",
                maxmemory=maxmemory,
                binary=binary,
                batch=model.batch,
                model=model,
                socket_path=socket_path,
                serve=serve,
            )
            self._add(store)
            model.colocated_store = store
            return store
        if self._shared_store() is not None:
            raise EntityStateError(f"experiment {self.name!r} already has a store ({self._shared_store()!r})")
        name = name or "store"
        batch = self._batch(nodes, walltime=walltime, queue=queue, account=account, directives=directives)
        store = StoreEntity(
            name,
            self.exp_path / name,
            kind,
            shards=shards,
            port=port,
            interface=interface,
            password=password,
            maxmemory=maxmemory,
            binary=binary,
            batch=batch,
            serve=serve,
        )
        self._add(store)
        return store

    def create_model(
        self,
        name: str,
        exe: str,
        args: Sequence[Any] = (),
        *,
        nodes: int = 1,
        tasks_per_node: int = 1,
        cpus_per_task: int = 1,
        env: Mapping[str, str] | None = None,
        run_command: str | None = "auto",
        run_args: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        walltime: str | None = None,
        queue: str | None = None,
        account: str | None = None,
        directives: Sequence[str] = (),
    ) -> Model:
        """One application: ``exe args...`` as ``nodes * tasks_per_node`` ranks.

        ``run_command="auto"`` starts several ranks with ``srun`` under Slurm and
        ``mpiexec`` elsewhere, one rank directly; or name one (``"mpirun"``, a
        path) with ``run_args``, or ``None``. Its stdout and stderr go to
        ``<name>.out`` and ``<name>.err`` in its run directory (``exp_path/name``).
        ``params`` fill ``;name;`` tags of files attached with
        :meth:`Model.attach_generator_files`.
        """
        batch = self._batch(nodes, tasks_per_node, cpus_per_task, walltime, queue, account, directives)
        model = Model(
            name,
            exe,
            args,
            path=self.exp_path / name,
            batch=batch,
            env=env,
            run_command=run_command,
            run_args=run_args,
            params=params,
        )
        self._add(model)
        return model

    def create_ensemble(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        exe: str,
        args: Sequence[Any] = (),
        perm_strategy: PermStrategy = "all_perm",
        replicas: int | None = None,
        n_models: int | None = None,
        seed: int | None = None,
        params_as_args: Sequence[str] = (),
        nodes: int = 1,
        tasks_per_node: int = 1,
        cpus_per_task: int = 1,
        env: Mapping[str, str] | None = None,
        run_command: str | None = "auto",
        run_args: Sequence[str] = (),
        walltime: str | None = None,
        queue: str | None = None,
        account: str | None = None,
        directives: Sequence[str] = (),
    ) -> Ensemble:
        """Members ``{name}_0``, ``{name}_1``, ... of one application, one per parameter set.

        ``perm_strategy``: ``"all_perm"`` (every combination), ``"step"`` (the
        i-th values together) or ``"random"`` (``n_models`` combinations,
        ``seed``); each set ``replicas`` times. Each member writes under its
        own key prefix (``SIMDASK_KEY_PREFIX`` = its name); parameters named in
        ``params_as_args`` are passed as ``--name=value`` arguments, and all of
        them fill ``;name;`` tags of configured files.
        """
        unknown = [p for p in params_as_args if p not in (params or {})]
        if unknown:
            raise ValueError(f"params_as_args names parameters the ensemble does not have: {unknown}")
        batch = self._batch(nodes, tasks_per_node, cpus_per_task, walltime, queue, account, directives)
        members = []
        sets = expand_params(params, perm_strategy, replicas=replicas, n_models=n_models, seed=seed)
        for i, values in enumerate(sets):
            member_args = [*args, *(f"--{p}={values[p]}" for p in params_as_args)]
            member = Model(
                f"{name}_{i}",
                exe,
                member_args,
                path=self.exp_path / name / f"{name}_{i}",
                batch=batch,
                env=env,
                run_command=run_command,
                run_args=run_args,
                params=values,
            )
            member.enable_key_prefixing()
            members.append(member)
        ensemble = Ensemble(name, self.exp_path / name, members)
        self._add(ensemble)
        return ensemble

    def create_dask_cluster(
        self,
        name: str = "dask",
        workers: int = 1,
        *,
        gpus_per_worker: int = 0,
        cores: int | None = None,
        memory: str | None = None,
        walltime: str | None = None,
        queue: str | None = None,
        account: str | None = None,
        interface: str | None = None,
        dashboard_address: str | None = None,
        job_extra_directives: Sequence[str] = (),
        **cluster_kwargs: Any,
    ) -> DaskCluster:
        """A Dask cluster of ``workers`` workers: a ``LocalCluster`` locally, ``SLURMCluster``/``PBSCluster`` else.

        Every worker gets the store's address in ``SIMDASK_ADDRESS``. Workers
        with ``gpus_per_worker`` declare ``resources={"GPU": n}`` (place GPU
        tasks with ``dask.annotate(resources={"GPU": 1})``) and, on a batch
        system, ask for the GPUs (``--gres=gpu:n``, ``ngpus=n``). Batch workers
        retire before ``walltime`` (``--lifetime``, ``--lifetime-stagger``).
        Defaults: ``simdask.experiment.dask``; ``cluster_kwargs`` go to the
        cluster class as they are (e.g. ``scheduler_options``, ``python``).
        The cluster speaks mutual TLS with certificates made for it: only
        :meth:`DaskCluster.get_client` (or a client given
        :attr:`DaskCluster.security`) can use it.
        """
        if gpus_per_worker < 0:
            raise ValueError(f"gpus_per_worker must be >= 0, got {gpus_per_worker}")
        _check_dask_settings(walltime, queue, account, interface, job_extra_directives)
        options = {
            "cores": config.get("experiment.dask.cores", cores),
            "memory": config.get("experiment.dask.memory", memory),
            "walltime": config.get("experiment.dask.walltime", walltime),
            "queue": queue,
            "account": account,
            "interface": config.get("experiment.interface", interface),
            "dashboard_address": config.get("experiment.dask.dashboard-address", dashboard_address),
            "gpus_per_worker": gpus_per_worker,
            "job_extra_directives": tuple(job_extra_directives),
            "cluster_kwargs": cluster_kwargs,
        }
        cluster = DaskCluster(name, self.exp_path / name, workers, options)
        self._add(cluster)
        return cluster

    def generate(self, *entities: Entity, overwrite: bool = False, tag: str = ";") -> None:
        """Create run directories (all entities by default) with their copied, linked and configured files.

        ``overwrite=True`` empties a model's run directory first; otherwise
        files are written over and other files stay. :meth:`start` generates
        what has not been generated.
        """
        for entity in entities or list(self._entities.values()):
            self._check_own(entity)
            for model in entity.members if isinstance(entity, (Model, Ensemble)) else []:
                job = self._jobs.get(model.name)
                if job is not None and not job.status.finished:
                    raise EntityStateError(f"{model.name!r} is running: its run directory cannot be generated again")
                generate_run_dir(model.path, model.files, model.params, overwrite=overwrite, tag=tag)
                self._generated.add(model.name)
            if not isinstance(entity, (Model, Ensemble)):
                private_dir(entity.path)

    # -- launching ---------------------------------------------------------------------

    def start(self, *entities: Entity, block: bool = False, timeout: float | None = None) -> None:
        """Launch entities (all by default): the store first, then models, then Dask clusters.

        The store is started (and waited for) before anything that needs it,
        also when not named; a store that cannot start raises
        :class:`~simdask.StoreStartError` (or ``ServerNotFoundError``) and
        nothing else is launched. ``block=True`` then waits for the models as
        :meth:`wait` does. On any error what this call launched is stopped; on
        Ctrl-C everything the experiment runs is.
        """
        targets = list(entities) or list(self._entities.values())
        for entity in targets:
            self._check_own(entity)
        models = [m for e in targets if isinstance(e, (Model, Ensemble)) for m in e.members]
        models += [e.model for e in targets if isinstance(e, StoreEntity) and e.model and e.model not in models]
        clusters = [e for e in targets if isinstance(e, DaskCluster)]
        stores = [e for e in targets if isinstance(e, StoreEntity) and not e.colocated]
        shared = self._shared_store()
        if shared is not None and (models or clusters) and shared not in stores and not self._is_running(shared):
            stores.insert(0, shared)
        for entity in [*stores, *clusters, *models]:
            if self._is_running(entity):
                raise EntityStateError(f"{entity.name!r} is already running")
        launched: list[Entity] = []
        _LIVE.add(self)
        try:
            for store in stores:
                launched.append(store)
                self._start_store(store)
            running = shared if shared is not None and self._is_running(shared) else None
            self.generate(*[m for m in models if m.name not in self._generated])
            for model in models:
                launched.append(model)
                self._start_model(model, running)
            for cluster in clusters:
                launched.append(cluster)
                self._start_cluster(cluster, running)
        except KeyboardInterrupt:
            self.stop()
            raise
        except BaseException:
            self._stop(launched)
            raise
        if block and models:
            self.wait(*models, timeout=timeout)

    def _start_store(self, store: StoreEntity) -> None:
        binary = find_server_binary(store.binary)  # a missing binary fails here, before anything is launched
        state = read_state(store.path)
        if state is not None and in_use(state):  # another experiment's, in the same folder
            raise StoreStartError(
                f"store {store.name!r}: a store already runs in {store.path} "
                f"(at {state.get('address', 'an address not yet known')})"
            )
        shutil.rmtree(store.path, ignore_errors=True)  # a state file left by an earlier run must not be read
        private_dir(store.path)
        spread = store.clustered and self._launcher.batch_system  # shards on every node of the job
        if spread and store.password is None:  # the nodes' shards share one: made here, read from its file
            store.password = secrets.token_urlsafe(32)
        if store.password_file is not None:  # given: the job reads it from there (a generated one lands there)
            write_private(store.password_file, str(store.password))
        env = {envvars.SERVER_BIN: str(binary)}
        host = store.interface or config.get("experiment.interface")
        if not host and not self._launcher.batch_system:
            host = "127.0.0.1"
        exitcode = f"{store.name}.exitcode"
        if spread:
            timeout = float(config.get("experiment.store-timeout"))
            body = spread_cluster_lines(self._launcher, self._python(), store, host, exitcode, timeout)
        else:
            body = record_exit([store_command(self._launcher, self._python(), store, host)], exitcode)
        script = JobScript(
            store.name,
            "store",
            store.path,
            body,
            env,
            store.batch,
            store.env_files,
        )
        job = self._submit(store.name, "store", script)
        deadline = time.monotonic() + float(config.get("experiment.store-timeout"))
        next_query = 0.0
        while True:
            try:
                found = Store.from_run_dir(store.path, password=store.password)
                store.address, store.password = found.address, found.password
                log.info("store %s ready at %s (job %s)", store.name, store.address, job.job_id)
                return
            except StoreError:
                pass
            if time.monotonic() >= next_query:
                self._refresh([job])
                next_query = time.monotonic() + self._poll_interval()
                if job.status.finished:
                    raise StoreStartError(f"store {store.name!r} did not start: {job.error or job.status}")
            if time.monotonic() > deadline:
                raise StoreStartError(
                    f"store {store.name!r} (job {job.job_id}, {job.status}) was not ready within "
                    f"{config.get('experiment.store-timeout')} s; see {script.err_path}"
                )
            time.sleep(0.05)

    def _start_cluster(self, cluster: DaskCluster, store: StoreEntity | None) -> None:
        cluster.cluster = start_dask_cluster(cluster, self.launcher, self._launcher.batch_system, store)
        cluster.status = Status.RUNNING

    def _start_model(self, model: Model, store: StoreEntity | None) -> None:
        """Launch ``model`` pointed at ``store`` (its address exported, its password read from its file).

        Each launch is a run of its own (``SIMDASK_RUN_ID``, ``docs/protocol.md`` "Runs"): its ranks
        write one run, and a relaunch never shows through an earlier one.
        """
        model.run_id = model.env.get(envvars.RUN_ID) or f"{self.name}.{model.name}.{secrets.token_hex(4)}"
        job_env = {**(store.job_env if store else {}), **model.key_env(), envvars.RUN_ID: model.run_id, **model.env}
        files = {k: v for k, v in (store.env_files if store else {}).items() if k not in model.env}
        before: list[str] = []
        after: list[str] = []
        exitcode = f"{model.name}.exitcode"
        colocated = model.colocated_store
        if colocated is not None:
            job_env.update(colocated.job_env)
            files.pop(envvars.PASSWORD, None)  # the co-located store is the model's store, on a Unix socket
            job_env[envvars.SERVER_BIN] = str(find_server_binary(colocated.binary))
            timeout = float(config.get("store.startup-timeout")) + 30
            before, after = colocated_lines(self._launcher, self._python(), colocated, model, exitcode, timeout)
        clustered = colocated is None and store is not None and store.clustered
        # SmartSim's names say what the SIMDASK_* ones finally say (unless the model's own env sets them)
        job_env.update({k: v for k, v in smartsim_env(job_env, clustered=clustered).items() if k not in model.env})
        launch = self._launcher.launch_command([model.exe, *model.args], model.batch, model.run_command, model.run_args)
        body = [*before, *record_exit([shlex.join(launch)], exitcode, after=after)]
        script = JobScript(model.name, "model", model.path, body, job_env, model.batch, files)
        job = self._submit(model.name, "model", script)
        if store is not None and colocated is None and not self._launcher.batch_system:
            _record_launch(store, job_env.get(envvars.KEY_PREFIX, ""), model.run_id, int(job.job_id))

    def _submit(self, name: str, kind: str, script: JobScript) -> Job:
        job_id = self._launcher.submit(script)
        job = Job(name, kind, script, job_id, status=self._launcher.initial_status)
        if job.status == Status.RUNNING:
            job.started = datetime.now().astimezone()
        self._jobs[name] = job
        log.info("%s %s launched: job %s", kind, name, job_id)
        return job

    # -- watching ------------------------------------------------------------------------

    def poll(self) -> dict[str, Status]:
        """Ask the launcher once; the status of everything launched, by name."""
        self._refresh(self._jobs.values())
        statuses = {name: job.status for name, job in self._jobs.items()}
        statuses.update(
            {e.name: e.status for e in self._entities.values() if isinstance(e, DaskCluster) and e.status != Status.NEW}
        )
        return statuses

    def get_status(self, *entities: Entity) -> list[Status]:
        """The status of each entity (each member of an ensemble), in order."""
        self._refresh(self._jobs.values())
        return [self._status(e) for entity in entities for e in self._units(entity)]

    def wait(self, *entities: Entity, timeout: float | None = None, check: bool = True) -> dict[str, Status]:
        """Wait until models (all launched ones by default) have finished; their statuses by name.

        Raises :class:`~simdask.errors.ExperimentTimeoutError` after ``timeout``
        seconds (default ``simdask.experiment.wait-timeout``), and, with
        ``check=True``, :class:`~simdask.errors.JobFailedError` naming each
        failed model with the tail of its stderr. Ctrl-C stops everything.
        A progress bar counts the models finished (in Jupyter or on a
        terminal; ``simdask.progress``).
        """
        units = (
            [u for e in entities for u in self._units(e)]
            if entities
            else [
                m
                for e in self._entities.values()
                if isinstance(e, (Model, Ensemble))
                for m in e.members
                if m.name in self._jobs
            ]
        )
        jobs = []
        for unit in units:
            if isinstance(unit, DaskCluster):
                raise EntityStateError(f"Dask cluster {unit.name!r} runs until stopped: wait for models")
            job = self._job(unit)
            if job is None:
                raise EntityStateError(f"{unit.name!r} has not been started")
            jobs.append(job)
        limit = float(config.get("experiment.wait-timeout", timeout))
        deadline = time.monotonic() + limit
        try:
            with progress.bar(len(jobs), f"{self.name}: models finished", unit="model") as shown:
                while True:
                    self._refresh(jobs)
                    running = [j for j in jobs if not j.status.finished]
                    shown.update(len(jobs) - len(running) - shown.n)
                    if not running:
                        break
                    if time.monotonic() >= deadline:
                        raise ExperimentTimeoutError(
                            f"after {limit:g} s still not finished: "
                            + ", ".join(f"{j.entity} ({j.status})" for j in running)
                        )
                    time.sleep(min(self._poll_interval(), max(0.0, deadline - time.monotonic())))
        except KeyboardInterrupt:
            self.stop()
            raise
        failed = [j for j in jobs if j.status == Status.FAILED]
        if check and failed:
            raise JobFailedError("\n\n".join(j.error for j in failed))
        return {j.entity: j.status for j in jobs}

    def summary(self) -> Summary:
        """A table of every entity (ensemble members one by one): kind, job id, status, return code, times."""
        self._refresh(self._jobs.values())
        rows = []
        for entity in self._entities.values():
            for unit in self._units(entity):
                if isinstance(unit, DaskCluster):
                    ids = ",".join(unit.job_ids()) or ("local" if unit.cluster is not None else "")
                    stopped = unit.status == Status.CANCELLED  # only stop() cancels a Dask cluster
                    rows.append(SummaryRow(unit.name, unit.kind, ids, unit.status, None, None, None, stopped=stopped))
                    continue
                job = self._job(unit)
                kind = "store (co-located)" if isinstance(unit, StoreEntity) and unit.colocated else unit.kind
                if job is None:
                    rows.append(SummaryRow(unit.name, kind, "", Status.NEW, None, None, None))
                else:
                    stopped = job.cancel_requested and job.status == Status.CANCELLED
                    rows.append(
                        SummaryRow(
                            unit.name,
                            kind,
                            job.job_id,
                            job.status,
                            job.returncode,
                            job.started,
                            job.ended,
                            job.error,
                            stopped=stopped,
                        )
                    )
        return Summary(f"Experiment {self.name!r} ({self.launcher} launcher, {self.exp_path})", rows)

    def _repr_html_(self) -> str:
        """Jupyter's view: the summary table, then where to reach the store and the Dask dashboards."""
        return experiment_html(self)

    # -- stopping --------------------------------------------------------------------------

    def stop(self, *entities: Entity) -> None:
        """Stop entities (all by default): models, Dask clusters, then the store; returns when they are gone."""
        targets = list(entities) or list(self._entities.values())
        for entity in targets:
            self._check_own(entity)
        self._stop(targets)
        if not entities:
            _LIVE.discard(self)

    def _stop(self, targets: Iterable[Entity]) -> None:
        targets = list(targets)
        models = [m for e in targets if isinstance(e, (Model, Ensemble)) for m in e.members]
        models += [e.model for e in targets if isinstance(e, StoreEntity) and e.model is not None]
        self._cancel([self._jobs[m.name] for m in models if m.name in self._jobs])
        for cluster in (e for e in targets if isinstance(e, DaskCluster)):
            self._stop_cluster(cluster)
        stores = [e for e in targets if isinstance(e, StoreEntity) and not e.colocated]
        self._cancel([self._jobs[s.name] for s in stores if s.name in self._jobs])

    def _cancel(self, jobs: Sequence[Job]) -> None:
        live = [j for j in jobs if not j.status.finished]
        if not live:
            return
        for job in live:
            job.cancel_requested = True
        self._launcher.cancel([j.job_id for j in live])
        self._wait_gone(live)

    def _wait_gone(self, jobs: Sequence[Job]) -> None:
        deadline = time.monotonic() + float(config.get("experiment.stop-timeout"))
        while True:
            self._refresh(jobs)
            left = [j for j in jobs if not j.status.finished]
            if not left:
                return
            if time.monotonic() > deadline:
                log.warning("still not gone after stop: %s", ", ".join(f"{j.entity} (job {j.job_id})" for j in left))
                return
            time.sleep(self._poll_interval())

    def _stop_cluster(self, cluster: DaskCluster) -> None:
        if cluster.cluster is None or cluster.status.finished:
            return
        ids = cluster.job_ids()
        cluster.close_clients()
        cluster.cluster.close(timeout=float(config.get("experiment.stop-timeout")))
        workers = [Job(cluster.name, "dask worker", JobScript(i, "dask worker", cluster.path, []), i) for i in ids]
        for job in workers:
            job.cancel_requested = True
        if workers:
            self._launcher.cancel(ids)  # dask-jobqueue cancelled them already; a job it missed goes too
            self._wait_gone(workers)
        cluster.status = Status.CANCELLED

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------

    def _refresh(self, jobs: Iterable[Job]) -> None:
        pending = [j for j in jobs if not j.status.finished]
        if not pending:
            return
        states = self._launcher.query({j.job_id: j.script.exitcode_path for j in pending})
        for job in pending:
            state = states.get(job.job_id)
            if state is not None:
                job.update(state)

    def _batch(
        self,
        nodes: int = 1,
        tasks_per_node: int = 1,
        cpus_per_task: int = 1,
        walltime: str | None = None,
        queue: str | None = None,
        account: str | None = None,
        directives: Sequence[str] = (),
    ) -> BatchSettings:
        """Batch settings with the defaults filled in (the one place defaults are resolved), checked."""
        return BatchSettings(
            int(nodes),
            int(tasks_per_node),
            int(cpus_per_task),
            config.get("experiment.walltime", walltime),
            queue,
            account,
            tuple(directives),
        )

    def _python(self) -> str:
        return str(config.get("experiment.python") or sys.executable)

    def _poll_interval(self) -> float:
        return self._launcher.poll_interval or float(config.get("experiment.poll-interval"))

    def _add(self, entity: Entity) -> None:
        names = [entity.name] + ([m.name for m in entity.members] if isinstance(entity, Ensemble) else [])
        taken = {n for e in self._entities.values() for n in [e.name, *(m.name for m in self._members(e))]}
        clash = [n for n in names if n in taken]
        if clash:
            raise EntityStateError(f"experiment {self.name!r} already has an entity named {clash[0]!r}")
        self._entities[entity.name] = entity

    def _members(self, entity: Entity) -> list[Model]:
        return entity.members if isinstance(entity, Ensemble) else []

    def _groups(self) -> list[Ensemble]:
        return [e for e in self._entities.values() if isinstance(e, Ensemble)]

    def _check_own(self, entity: Entity) -> None:
        if self._entities.get(entity.name) is entity:
            return
        if isinstance(entity, Model) and any(entity in g.members for g in self._groups()):
            return
        raise EntityStateError(f"{entity!r} does not belong to experiment {self.name!r}")

    def _shared_store(self) -> StoreEntity | None:
        return next((e for e in self._entities.values() if isinstance(e, StoreEntity) and not e.colocated), None)

    def _units(self, entity: Entity) -> list[Entity]:
        return list(entity.members) if isinstance(entity, Ensemble) else [entity]

    def _job(self, entity: Entity) -> Job | None:
        """The job an entity runs in (a co-located store runs in its model's)."""
        owner = entity.model if isinstance(entity, StoreEntity) and entity.model is not None else entity
        return self._jobs.get(owner.name)

    def _status(self, entity: Entity) -> Status:
        if isinstance(entity, DaskCluster):
            return entity.status
        job = self._job(entity)
        return job.status if job else Status.NEW

    def _is_running(self, entity: Entity) -> bool:
        status = self._status(entity)
        return status != Status.NEW and not status.finished

    def __repr__(self) -> str:
        return experiment_line(self)


def _check_dask_settings(
    walltime: str | None, queue: str | None, account: str | None, interface: str | None, directives: Sequence[str]
) -> None:
    """Check what dask-jobqueue writes into worker job scripts unquoted (a ``ValueError`` names the setting)."""
    if walltime is not None:
        check_walltime("walltime", walltime)
    for name, value in (("queue", queue), ("account", account), ("interface", interface)):
        if value is not None:
            check_name(name, value)
    for directive in directives:
        check_directive("job_extra_directives", directive)


@atexit.register
def _stop_live_experiments() -> None:
    """What experiments launched does not outlive the Python process that launched it."""
    for experiment in list(_LIVE):
        try:
            experiment.stop()
        except Exception as exc:  # at exit: say it, do not hide other experiments' cleanup
            log.warning("stopping experiment %s at exit failed: %s", experiment.name, exc)


def _record_launch(store: StoreEntity, group: str, run_id: str, pid: int) -> None:
    """Tell the store which process of this host writes run ``run_id`` (``docs/protocol.md``, "Runs"): a watch of
    that run fails as soon as the process exits without having begun it, instead of waiting its whole timeout."""
    try:
        with Client(store.address, password=store.password) as client:
            record_launch(client.session, group, run_id, pid)
    except SimdaskError as exc:  # the launch goes on; only that early failure is not seen
        log.warning("could not record the launch of run %r in the store at %s: %s", run_id, store.address, exc)
