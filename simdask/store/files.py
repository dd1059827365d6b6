"""Files that may hold a secret: owner-only from the moment they exist.

A file is created with its final mode (``O_CREAT | O_EXCL``, mode 0600)
before anything is written to it, under a temporary name, then renamed over
the target: no reader ever sees it half written or with the umask's mode,
and a symlink planted at the target is replaced, never followed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["private_dir", "write_private"]


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents, each 0700; folders that exist keep their mode."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)  # the umask can only take bits away from 0700
        except FileExistsError:
            pass
    target = missing[0] if missing else path
    if not target.is_dir():
        raise NotADirectoryError(f"{target} is not a folder")
    return target


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` atomically, in a file created with ``mode`` (0600: owner only)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w") as f:  # the umask can only take bits away from ``mode``
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
