"""SmartRedis 0.6's Python API on simdask: ``import smartredis`` as a SmartSim code does.

A thin layer over :class:`simdask.Client` and :class:`simdask.Dataset`
(docs/smartredis.md in the simdask repository): the store is a simdask store
(Valkey), models and scripts run on simdask's inference service. This package
provides the import name ``smartredis`` as CrayLabs' SmartRedis does: install
one or the other in an environment (``smartredis.__simdask__`` is True here).
"""

from .client import Client
from .configoptions import ConfigOptions
from .dataset import Dataset
from .dataset_utils import DatasetConverter
from .logcontext import LogContext
from .logger import LLDebug, LLDeveloper, LLInfo, LLQuiet, log_data, log_error, log_warning
from .srobject import SRObject

__all__ = [
    "Client",
    "ConfigOptions",
    "Dataset",
    "SRObject",
    "LogContext",
    "DatasetConverter",
    "log_data",
    "log_warning",
    "log_error",
    "LLQuiet",
    "LLInfo",
    "LLDebug",
    "LLDeveloper",
]

#: Tells this package from CrayLabs' SmartRedis, which has no such attribute.
__simdask__ = True
__version__ = "0.6.0+simdask"
