"""Building the demo's simulations: the C and Fortran clients of the checkout, then heat2d.c and heat2d.f90.

Everything is built with CMake into one folder that later runs reuse (an
unchanged source is not compiled again): ``client-c``/``client-fortran``
(installed into ``prefix``) and ``sim``. Or the clients come from a prefix
where they are installed already (``--clients-prefix``, as the tests pass the
one their session built), and only the simulations are built. Whatever
cannot be built (no compiler, MPI or hiredis here, no checkout, a failed
build) says why, and a Python rank stands in for that language.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LANGUAGES", "Program", "build_programs", "checkout", "missing_tools", "simulation_sources"]

#: The simulations' languages, and each one's program name.
LANGUAGES = {"C": "heat2d_c", "Fortran": "heat2d_f"}
_CLIENTS = {"C": "client_c", "Fortran": "client_fortran"}
#: Seconds one build command may take.
_COMMAND_TIMEOUT_S = 600


@dataclass(frozen=True)
class Program:
    """One simulation as the demo runs it: a native MPI program, or the Python stand-in (``path`` None)."""

    language: str
    path: Path | None
    note: str


def simulation_sources() -> Path:
    """The folder of the simulations' sources (package data)."""
    return Path(__file__).resolve().parent / "sim"


def checkout() -> Path | None:
    """The simdask checkout this package runs from (it has ``client_c/`` and ``client_fortran/``), else None."""
    root = Path(__file__).resolve().parents[2]
    found = all((root / folder / "CMakeLists.txt").is_file() for folder in _CLIENTS.values())
    return root if found else None


def missing_tools(language: str) -> str | None:
    """Why ``language``'s simulation cannot be built here (the tool to install), or None."""
    needed = [
        ("cmake", "cmake"),
        ("cc", "gcc"),
        ("pkg-config", "pkg-config"),
        ("mpicc", "openmpi-bin libopenmpi-dev"),
        ("mpirun", "openmpi-bin"),
    ]
    if language == "Fortran":
        needed += [("gfortran", "gfortran"), ("mpif90", "openmpi-bin libopenmpi-dev")]
    for tool, package in needed:
        if shutil.which(tool) is None:
            return f"{tool} not found (apt-get install {package})"
    if subprocess.run(["pkg-config", "--exists", "hiredis"], check=False).returncode != 0:
        return "hiredis not found by pkg-config (apt-get install libhiredis-dev)"
    return None


class _Builder:
    """Runs the build commands, appending their output to one log file."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def run(self, argv: Sequence[str | os.PathLike[str]]) -> None:
        command = [str(a) for a in argv]
        with self.log.open("a") as out:
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            try:
                proc = subprocess.run(
                    command, stdout=out, stderr=subprocess.STDOUT, timeout=_COMMAND_TIMEOUT_S, check=False
                )
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"{command[0]} took more than {_COMMAND_TIMEOUT_S} s") from None
        if proc.returncode != 0:
            raise RuntimeError(f"`{' '.join(command[:4])} ...` failed (exit {proc.returncode})")

    def cmake(self, source: Path, build: Path, *options: str) -> None:
        """Configure ``build`` (again only when an option changed), then build it; a build folder of another
        source is made anew. ``options``: ``-DNAME=VALUE``."""
        cache = build / "CMakeCache.txt"
        text = cache.read_text() if cache.exists() else ""
        if text and f"CMAKE_HOME_DIRECTORY:INTERNAL={source}\n" not in text:
            shutil.rmtree(build)
            text = ""
        settings = ["-DCMAKE_BUILD_TYPE=Release", *options]
        cached = {
            line.split(":", 1)[0]: line.split("=", 1)[1] for line in text.splitlines() if ":" in line and "=" in line
        }
        if not text or any(cached.get(o[2:].split("=", 1)[0]) != o.split("=", 1)[1] for o in settings):
            self.run(["cmake", "-S", source, "-B", build, *settings])
        self.run(["cmake", "--build", build, "-j", str(max(1, min(4, os.cpu_count() or 1)))])

    def tail(self, lines: int = 12) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(f"    {line}" for line in text[-lines:])


def _installed(prefix: Path, language: str) -> bool:
    package = "simdask" if language == "C" else "simdask_fortran"
    return any((prefix / lib / "cmake" / package).is_dir() for lib in ("lib", "lib64"))


def build_programs(
    languages: Sequence[str],
    build_dir: Path,
    say: Callable[[str], None],
    clients_prefix: Path | None = None,
) -> dict[str, Program]:
    """Build the simulations of ``languages`` into ``build_dir``; a :class:`Program` for each.

    The clients are built from the checkout and installed into
    ``build_dir/prefix``, unless ``clients_prefix`` names where they are
    installed. A language that cannot be built gets the Python stand-in,
    with the reason in its note (and the build log's tail said).
    """
    build_dir.mkdir(parents=True, exist_ok=True)
    builder = _Builder(build_dir / "build.log")
    builder.log.write_text("")
    reasons = {lang: missing_tools(lang) for lang in languages}
    root = checkout()
    prefix = clients_prefix or build_dir / "prefix"
    if clients_prefix is not None:
        for lang in languages:
            if not reasons[lang] and not _installed(prefix, lang):
                reasons[lang] = f"no {lang} client installed in {prefix}"
    elif root is None:
        reasons = {lang: reasons[lang] or "no simdask checkout with client_c/ and client_fortran/" for lang in reasons}
    else:
        for lang in languages:
            if reasons[lang] or (lang == "Fortran" and reasons.get("C")):
                reasons[lang] = reasons[lang] or reasons["C"]
                continue
            say(f"  building the {lang} client ({root / _CLIENTS[lang]}) with CMake")
            try:
                builder.cmake(
                    root / _CLIENTS[lang], build_dir / f"client-{lang.lower()}", f"-DCMAKE_PREFIX_PATH={prefix}"
                )
                builder.run(["cmake", "--install", build_dir / f"client-{lang.lower()}", "--prefix", prefix])
            except RuntimeError as exc:
                reasons[lang] = f"its client did not build: {exc}"
                say(f"  {lang} client build failed ({builder.log}):\n{builder.tail()}")
                if lang == "C":
                    reasons.update({other: reasons[other] or reasons["C"] for other in languages})
    wanted = [lang for lang in languages if not reasons[lang]]
    if wanted:
        say(f"  building {', '.join(LANGUAGES[lang] for lang in wanted)} ({simulation_sources()}) with CMake")
        try:
            fortran = "ON" if "Fortran" in wanted else "OFF"
            builder.cmake(
                simulation_sources(), build_dir / "sim", f"-DCMAKE_PREFIX_PATH={prefix}", f"-DDEMO_FORTRAN={fortran}"
            )
        except RuntimeError as exc:
            say(f"  the simulations did not build ({builder.log}):\n{builder.tail()}")
            reasons.update({lang: f"it did not build: {exc}" for lang in wanted})
    programs = {}
    for lang in languages:
        path = build_dir / "sim" / LANGUAGES[lang]
        if reasons[lang] is None and path.is_file():
            programs[lang] = Program(lang, path, f"{LANGUAGES[lang]}, built against the clients in {prefix}")
        else:
            reason = reasons[lang] or f"{path} is missing after the build"
            programs[lang] = Program(lang, None, f"a Python rank stands in for the {lang} program: {reason}")
    return programs
