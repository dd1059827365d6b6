"""Run directories: input files copied, linked, or configured from a model's parameters."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.files import private_dir

__all__ = ["GeneratorFiles", "configure_text", "generate_run_dir"]


@dataclass
class GeneratorFiles:
    """Files (or folders) a model's run directory gets: copied, symlinked, or copied with ``;tag;`` replaced."""

    copy: list[Path] = field(default_factory=list)
    symlink: list[Path] = field(default_factory=list)
    configure: list[Path] = field(default_factory=list)

    def add(self, to_copy: Any = (), to_symlink: Any = (), to_configure: Any = ()) -> None:
        for target, paths in ((self.copy, to_copy), (self.symlink, to_symlink), (self.configure, to_configure)):
            for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
                path = Path(os.path.abspath(path))
                if not path.exists():
                    raise FileNotFoundError(f"generator file {path} does not exist")
                target.append(path)


def configure_text(text: str, params: Mapping[str, Any], tag: str = ";") -> str:
    """Replace each ``{tag}name{tag}`` with the parameter's value; other text is left alone.

    >>> configure_text("nu = ;nu; ; steps = ;n;", {"nu": 0.5, "n": 10})
    'nu = 0.5 ; steps = 10'
    """
    if not params:
        return text
    pattern = re.compile(re.escape(tag) + "(" + "|".join(re.escape(name) for name in params) + ")" + re.escape(tag))
    return pattern.sub(lambda m: str(params[m.group(1)]), text)


def generate_run_dir(
    path: Path, files: GeneratorFiles, params: Mapping[str, Any], *, overwrite: bool = False, tag: str = ";"
) -> None:
    """Create ``path`` (0700) and put the files in it (``overwrite=True`` empties it first)."""
    if overwrite and path.exists():
        shutil.rmtree(path)
    private_dir(path)
    for src in files.copy:
        dest = path / src.name
        if src.is_dir():
            shutil.copytree(src, dest, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest)
    for src in files.symlink:
        dest = path / src.name
        if dest.is_symlink() or dest.is_file():
            dest.unlink()
        elif dest.is_dir():
            shutil.rmtree(dest)
        dest.symlink_to(src, target_is_directory=src.is_dir())
    for src in files.configure:
        sources = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
        for file in sources:
            dest = path / (file.relative_to(src.parent) if src.is_dir() else file.name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(configure_text(file.read_text(), params, tag))
            shutil.copymode(file, dest)
