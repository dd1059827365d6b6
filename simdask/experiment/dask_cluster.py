"""Dask clusters of an experiment: ``LocalCluster`` here, dask-jobqueue's ``SLURMCluster``/``PBSCluster`` elsewhere.

Every worker gets the store's address (``SIMDASK_ADDRESS``) in its
environment, and its password (``SIMDASK_PASSWORD``): a local worker from its
nanny, a batch worker's job script from the store's password file; GPU
workers declare ``resources={"GPU": n}`` and ask the batch system for the
GPUs (``--gres=gpu:n``, ``ngpus=n``); batch workers retire (``--lifetime``,
staggered) before their job's walltime ends, so that Dask moves their data
away instead of losing it.

A Dask scheduler runs whatever its clients send, so every cluster speaks
mutual TLS with certificates made for it (``Security.temporary()``): only a
client holding them (the experiment's, :meth:`DaskCluster.get_client`) gets
in. Batch workers read them from the cluster's run directory (0700, files
0600). The scheduler binds to the experiment's interface (loopback locally).
"""

from __future__ import annotations

import ipaddress
import shlex
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from dask.utils import parse_bytes

from ..store.files import private_dir
from .entities import DaskCluster, StoreEntity
from .shell import WALLTIME, check_directive, check_name, check_plain_path, export_lines

if TYPE_CHECKING:
    from distributed.security import Security

__all__ = [
    "import_jobqueue",
    "jobqueue_options",
    "local_options",
    "make_security",
    "parse_walltime",
    "start_dask_cluster",
    "worker_lifetime",
]


def parse_walltime(text: str) -> int:
    """Seconds in a walltime: ``[D-]HH:MM:SS``, ``MM:SS`` or minutes.

    >>> parse_walltime("01:00:00"), parse_walltime("1-00:00:00"), parse_walltime("30")
    (3600, 86400, 1800)
    """
    match = WALLTIME.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"walltime must be [D-]HH:MM:SS, MM:SS or minutes, got {text!r}")
    parts = [int(p) for p in match.group(2).split(":")]
    if match.group(1) is None and len(parts) < 3:  # "30" is minutes, "30:00" minutes and seconds
        parts = [0, *parts] if len(parts) == 2 else [0, parts[0], 0]
    hours, minutes, seconds = [*parts, 0, 0][:3]  # after "D-": HH[:MM[:SS]]
    return int(match.group(1) or 0) * 86400 + hours * 3600 + minutes * 60 + seconds


def worker_lifetime(walltime_s: int) -> tuple[int, int]:
    """``(lifetime, stagger)`` in seconds for workers in jobs of ``walltime_s``.

    Workers retire ``lifetime +- stagger`` after they start: at least a minute
    (at most ten) before the job's end, a tenth of the walltime, so that they
    hand their data over instead of being killed with it.

    >>> worker_lifetime(3600)
    (3240, 180)
    >>> worker_lifetime(180)
    (120, 30)
    """
    margin = min(max(walltime_s // 10, 60), 600)
    if 2 * margin >= walltime_s:
        margin = walltime_s // 4
    return walltime_s - margin, margin // 2


def make_security() -> Security:
    """Certificates made for one cluster (scheduler, workers, clients), held in memory: mutual TLS."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError:
        raise ImportError("TLS for Dask clusters needs the cryptography package: pip install cryptography") from None


def _bind(interface: str | None) -> dict[str, str]:
    """Where a local cluster listens: loopback, or the experiment's interface (a name or an IP)."""
    if not interface:
        return {"host": "127.0.0.1"}
    try:
        return {"host": str(ipaddress.ip_address(interface))}
    except ValueError:
        return {"interface": interface}


def local_options(spec: DaskCluster, env: Mapping[str, str], security: Security | None = None) -> dict[str, Any]:
    """Keyword arguments of ``distributed.LocalCluster`` for ``spec`` (TLS when ``security`` is given)."""
    o = spec.options
    kwargs: dict[str, Any] = {
        "n_workers": spec.workers,
        "threads_per_worker": int(o["cores"]),
        "processes": True,
        "memory_limit": parse_bytes(str(o["memory"])),
        "env": dict(env),
        **_bind(o.get("interface")),
    }
    if security is not None:
        kwargs.update(security=security, protocol="tls://")
    if spec.gpus_per_worker:
        kwargs["resources"] = {"GPU": spec.gpus_per_worker}
    if o.get("dashboard_address"):
        kwargs["dashboard_address"] = o["dashboard_address"]
    return {**kwargs, **o.get("cluster_kwargs", {})}


def jobqueue_options(
    spec: DaskCluster,
    launcher: str,
    env: Mapping[str, str],
    env_files: Mapping[str, Path] | None = None,
    security: Security | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``SLURMCluster`` (``launcher="slurm"``) or ``PBSCluster`` (``"pbs"``) for ``spec``.

    ``env`` is exported by each worker's job script, ``env_files`` read from
    files there (the password); with ``security`` the cluster speaks TLS and
    the workers' certificates go to the cluster's run directory.
    dask-jobqueue writes worker arguments into the script unquoted: they are
    quoted here.
    """
    o = spec.options
    user = dict(o.get("cluster_kwargs", {}))
    lifetime, stagger = worker_lifetime(parse_walltime(o["walltime"]))
    worker_args = ["--lifetime", f"{lifetime}s", "--lifetime-stagger", f"{stagger}s"]
    directives = list(o.get("job_extra_directives", ()))
    run_dir = check_plain_path(f"the run directory of {spec.name}", spec.path)
    kwargs: dict[str, Any] = {
        "cores": int(o["cores"]),
        "memory": str(o["memory"]),
        "processes": 1,
        "walltime": o["walltime"],
        "job_name": spec.name,
        "log_directory": f"{run_dir}/logs",
        "job_script_prologue": export_lines(env, env_files),
    }
    if security is not None:
        kwargs.update(security=security, protocol="tls://", shared_temp_directory=run_dir)
    for name in ("queue", "account", "interface"):
        if o.get(name):
            kwargs[name] = check_name(name, o[name])  # also when it comes from the config
    gpus = spec.gpus_per_worker
    if gpus:
        worker_args += ["--resources", f"GPU={gpus}"]
        if launcher == "slurm":
            directives.append(f"--gres=gpu:{gpus}")
        else:
            mem = import_jobqueue().pbs.pbs_format_bytes_ceil(parse_bytes(str(o["memory"])))
            kwargs["resource_spec"] = f"select=1:ncpus={kwargs['cores']}:ngpus={gpus}:mem={mem}"
    dashboard = o.get("dashboard_address")
    if dashboard:
        kwargs["scheduler_options"] = {"dashboard_address": dashboard}
        worker_args += ["--dashboard-address", f"{str(dashboard).rsplit(':', 1)[0]}:0"]
    kwargs["worker_extra_args"] = [shlex.quote(str(a)) for a in worker_args + list(user.pop("worker_extra_args", []))]
    kwargs["job_extra_directives"] = [
        check_directive("job_extra_directives", d) for d in directives + list(user.pop("job_extra_directives", []))
    ]
    kwargs["job_script_prologue"] += list(user.pop("job_script_prologue", []))  # the user's own shell lines
    return {**kwargs, **user}


def import_jobqueue() -> ModuleType:
    """``dask_jobqueue``, imported without letting it take over Ctrl-C.

    dask-jobqueue 0.9.0 sets the SIGINT handler to ``sys.exit`` when imported
    (dask/dask-jobqueue#696, fixed upstream after 0.9.0 by #697): Ctrl-C would
    raise ``SystemExit`` instead of ``KeyboardInterrupt`` and a Jupyter kernel
    could no longer be interrupted. The handler in place before is restored.
    """
    if "dask_jobqueue" in sys.modules:
        return sys.modules["dask_jobqueue"]
    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main else None
    try:
        import dask_jobqueue
    except ImportError:
        raise ImportError("Dask clusters on Slurm or PBS need dask-jobqueue: pip install 'simdask[jobqueue]'") from None
    finally:
        if handler is not None:
            signal.signal(signal.SIGINT, handler)
    return dask_jobqueue


def start_dask_cluster(spec: DaskCluster, launcher: str, batch: bool, store: StoreEntity | None) -> Any:
    """Start ``spec``'s cluster (TLS) with workers pointed at ``store``; returns the ``distributed`` cluster object."""
    private_dir(spec.path)
    security = make_security()
    if not batch:
        from distributed import LocalCluster

        return LocalCluster(**local_options(spec, store.env if store else {}, security))
    jobqueue = import_jobqueue()
    cls = jobqueue.SLURMCluster if launcher == "slurm" else jobqueue.PBSCluster
    env, files = (store.job_env, store.env_files) if store else ({}, {})
    cluster = cls(**jobqueue_options(spec, launcher, env, files, security))
    if spec.workers:
        cluster.scale(n=spec.workers)
    return cluster
