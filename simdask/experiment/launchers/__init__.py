"""Launchers: how an experiment's job scripts run on this machine, on Slurm or on PBS."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping

from .base import CommandResult, Launcher, parallel_command
from .local import LocalLauncher
from .pbs import PBSLauncher
from .slurm import SlurmLauncher, SlurmStepLauncher

__all__ = [
    "LAUNCHERS",
    "CommandResult",
    "Launcher",
    "LocalLauncher",
    "PBSLauncher",
    "SlurmLauncher",
    "SlurmStepLauncher",
    "detect_launcher",
    "get_launcher",
    "parallel_command",
]

LAUNCHERS = ("local", "slurm", "pbs", "auto")


def detect_launcher(environ: Mapping[str, str] | None = None, which: Callable[[str], str | None] = shutil.which) -> str:
    """``"slurm"`` in a Slurm job or where ``sbatch`` is, ``"pbs"`` likewise (``PBS_JOBID``, ``qsub``), else local.

    >>> detect_launcher({"PBS_JOBID": "12.pbs"}, which=lambda name: None)
    'pbs'
    """
    env = os.environ if environ is None else environ
    if "SLURM_JOB_ID" in env:
        return "slurm"
    if "PBS_JOBID" in env:
        return "pbs"
    if which("sbatch"):
        return "slurm"
    if which("qsub"):
        return "pbs"
    return "local"


def get_launcher(name: str, environ: Mapping[str, str] | None = None) -> Launcher:
    """A launcher by name (``"auto"`` detects one); ``"slurm"`` inside an allocation runs job steps in it."""
    if name not in LAUNCHERS:
        raise ValueError(f"launcher must be one of {', '.join(LAUNCHERS)}, got {name!r}")
    env = os.environ if environ is None else environ
    if name == "auto":
        name = detect_launcher(env)
    if name == "slurm":
        return SlurmStepLauncher() if "SLURM_JOB_ID" in env else SlurmLauncher()
    if name == "pbs":
        return PBSLauncher()
    return LocalLauncher()
