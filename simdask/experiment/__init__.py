"""The infrastructure library: describe stores, models, ensembles and Dask clusters, then launch them.

``Experiment`` launches the same description on this machine (``"local"``),
on Slurm or on PBS; dask-jobqueue provides the Dask workers on batch systems.

>>> exp = simdask.Experiment("run", launcher="local")      # doctest: +SKIP
>>> store = exp.create_store()                             # doctest: +SKIP
>>> sim = exp.create_model("sim", sys.executable, ["sim.py"])  # doctest: +SKIP
>>> exp.start(block=True, timeout=600); exp.stop()          # doctest: +SKIP
"""

from .ensemble import expand_params
from .entities import DaskCluster, Ensemble, Entity, Model, StoreEntity
from .experiment import Experiment
from .jobs import BatchSettings, Status
from .launchers import detect_launcher
from .summary import Summary, SummaryRow

__all__ = [
    "BatchSettings",
    "DaskCluster",
    "Ensemble",
    "Entity",
    "Experiment",
    "Model",
    "Status",
    "StoreEntity",
    "Summary",
    "SummaryRow",
    "detect_launcher",
    "expand_params",
]
