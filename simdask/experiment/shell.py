"""What may be written into a job script: checked settings and quoted values.

Job scripts are bash, and their ``#SBATCH``/``#PBS`` lines are read by the
scheduler, which does not quote: a newline in a walltime, a queue or a
directive would start a line of its own, run as a command. So every value
that goes into a script is either quoted (``shlex.quote``: environment
values, arguments, paths in commands) or checked against what it can be (a
walltime, a queue name, an environment variable name, a one-line option),
and refused with a ``ValueError`` that names the setting.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = [
    "check_args",
    "check_directive",
    "check_env",
    "check_name",
    "check_plain_path",
    "check_walltime",
    "export_lines",
]

WALLTIME = re.compile(r"(?:(\d+)-)?(\d+(?::\d+){0,2})")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,@+%:-]*")  # queues (workq@server, gpu,cpu), accounts, interfaces
_PLAIN_PATH = re.compile(r"[A-Za-z0-9_.,:=/@%+~-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_walltime(setting: str, value: str) -> str:
    """A walltime as schedulers read it: ``[D-]HH:MM:SS``, ``MM:SS`` or minutes.

    >>> check_walltime("walltime", "01:30:00")
    '01:30:00'
    """
    if not WALLTIME.fullmatch(str(value)):
        raise ValueError(f"{setting} must be [D-]HH:MM:SS, MM:SS or minutes, got {value!r}")
    return str(value)


def check_name(setting: str, value: str) -> str:
    """A queue, partition, account or interface name: letters, digits and ``_.,@+%:-``, no leading punctuation."""
    if not _NAME.fullmatch(str(value)):
        raise ValueError(f"{setting} must be letters, digits and _.,@+%:- (a name), got {value!r}")
    return str(value)


def check_directive(setting: str, value: str) -> str:
    """One scheduler option (``--gres=gpu:1``, ``-l place=scatter``): it starts with ``-`` and is one line."""
    text = str(value)
    if _CONTROL.search(text) or not text.startswith("-"):
        raise ValueError(f"each of {setting} is one scheduler option on one line, starting with '-', got {text!r}")
    return text


def check_plain_path(setting: str, path: str | Path) -> str:
    """A path written unquoted into scheduler directives: no spaces, quotes or shell metacharacters."""
    text = str(path)
    if not _PLAIN_PATH.fullmatch(text):
        raise ValueError(
            f"{setting} {text!r} goes into batch directives, which are not quoted: use a path of letters, "
            "digits and _.,:=/@%+~- only"
        )
    return text


def check_env(setting: str, env: Mapping[str, str]) -> dict[str, str]:
    """Environment variables: names are shell identifiers, values anything but a NUL."""
    for name, value in env.items():
        if not _ENV_NAME.fullmatch(str(name)):
            raise ValueError(f"{setting}: {name!r} is not an environment variable name (letters, digits, _)")
        if "\0" in str(value):
            raise ValueError(f"{setting}: the value of {name} contains a NUL character")
    return {str(k): str(v) for k, v in env.items()}


def check_args(setting: str, args: Iterable[object]) -> tuple[str, ...]:
    """Command-line words (quoted when written): anything but a NUL, which no argument can hold."""
    words = tuple(str(a) for a in args)
    for word in words:
        if "\0" in word:
            raise ValueError(f"{setting} must not contain a NUL character: {word!r}")
    return words


def export_lines(env: Mapping[str, str], files: Mapping[str, Path] | None = None) -> list[str]:
    """``export`` lines for ``env``, and for each of ``files`` a variable read from that file when the job runs.

    A secret (the store's password) is passed as a file so that its value is
    never in the script's text; a file that cannot be read stops the job.

    >>> for line in export_lines({"A": "a b"}, {"SECRET": Path("/run/pw")}):
    ...     print(line)
    export A='a b'
    SECRET="$(< /run/pw)" || { echo simdask: cannot read SECRET from /run/pw >&2; exit 1; }
    export SECRET
    """
    lines = [f"export {name}={shlex.quote(value)}" for name, value in check_env("env", env).items()]
    for name, file in (files or {}).items():
        check_env("env", {name: ""})
        path = shlex.quote(str(file))
        lines += [
            f'{name}="$(< {path})" || {{ echo simdask: cannot read {name} from {path} >&2; exit 1; }}',
            f"export {name}",
        ]
    return lines
