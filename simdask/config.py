"""simdask's settings, in the ``simdask`` namespace of ``dask.config``.

Defaults come from the packaged ``simdask.yaml``; users override them with
dask's YAML files or ``DASK_SIMDASK__...`` environment variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dask.config
import yaml
from dask.utils import parse_bytes

__all__ = ["get", "get_bytes"]

with open(Path(__file__).with_name("simdask.yaml")) as _f:
    dask.config.update_defaults(yaml.safe_load(_f))


def get(name: str, override: Any = None) -> Any:
    """``override`` if not None, else the setting ``simdask.<name>``."""
    return override if override is not None else dask.config.get(f"simdask.{name}")


def get_bytes(name: str, override: int | str | None = None) -> int:
    """A size setting in bytes (accepts ``"4MiB"``-style strings)."""
    value = get(name, override)
    return value if isinstance(value, int) else parse_bytes(value)
