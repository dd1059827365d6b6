"""Which node a process runs on, as simdask names nodes for locality.

A node's name is ``SIMDASK_NODE`` when set (several simulated nodes on one
machine each set their own), else the host name up to its first dot, which
is what Slurm and PBS call the node. Stores, Dask workers, serving loops
and callers compare these names to keep data and requests on their node.
"""

from __future__ import annotations

import os
import socket

from . import env

__all__ = ["node_name"]


def node_name() -> str:
    """This process's node: ``SIMDASK_NODE``, else the short host name."""
    return os.environ.get(env.NODE) or socket.gethostname().split(".")[0]
