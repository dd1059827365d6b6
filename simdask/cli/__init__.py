"""The ``simdask`` command: ``store start|stop|status``, ``keys``, ``get``, ``runs list|delete|prune``, ``serve``,
``demo``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import version

from ..errors import SimdaskError
from . import data_cmd, demo_cmd, runs_cmd, serve_cmd, store_cmd

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simdask",
        description="Start and inspect simdask stores, their keys and runs; serve models; run the demo.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what simdask does")
    parser.add_argument("--version", action="version", version=f"simdask {version('simdask')}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    store_cmd.register(commands)
    data_cmd.register(commands)
    runs_cmd.register(commands)
    demo_cmd.register(commands)
    serve_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        return int(args.run(args) or 0)
    except (SimdaskError, ValueError) as exc:
        print(f"simdask {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
