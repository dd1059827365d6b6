"""``simdask demo``: the end-to-end demo on the embedded default store."""

from __future__ import annotations

import argparse

from ..demo import run_demo


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="run the end-to-end demo on a fresh store")
    demo.add_argument("--kind", choices=("standalone", "unix", "cluster"), default="standalone")
    demo.add_argument("--steps", type=int, default=5)
    demo.add_argument("--size", type=int, default=512, help="edge of the square field")
    demo.set_defaults(run=lambda args: run_demo(args.kind, steps=args.steps, size=args.size))
