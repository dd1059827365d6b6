"""``simdask demo``: the end-to-end demo (a heated plate in C and Fortran, steered live) on the embedded store."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..demo import DemoSettings, run_demo


def register(commands: argparse._SubParsersAction) -> None:
    defaults = DemoSettings()
    demo = commands.add_parser(
        "demo",
        help="run the end-to-end demo: C and Fortran MPI simulations, Dask, inference and steering",
        description="Build and run the demo: an Experiment launches a store, a Dask cluster, the inference service "
        "and a heated-plate simulation in C and in Fortran (MPI); the analysis watches it live and steers it. "
        "Writes PNG plots, zarr archives and report.html into the output folder.",
    )
    demo.add_argument("--steps", type=int, default=defaults.steps, help="time steps of each simulation")
    demo.add_argument("--size", type=int, default=defaults.size, help="edge of the square grid")
    demo.add_argument("--ranks", type=int, default=defaults.ranks, help="MPI ranks of each simulation")
    demo.add_argument(
        "--languages",
        default=",".join(defaults.languages),
        help="simulations to run, comma-separated: C, Fortran (default: %(default)s)",
    )
    demo.add_argument("--out", type=Path, default=defaults.out, help="output folder (default: %(default)s)")
    demo.add_argument(
        "--build-dir",
        type=Path,
        default=None,
        help="where builds are kept (default: .simdask/demo-build in the checkout)",
    )
    demo.add_argument(
        "--clients-prefix",
        type=Path,
        default=None,
        help="use the C and Fortran clients installed in this prefix instead of building them",
    )
    demo.add_argument("--no-build", action="store_true", help="build nothing: Python ranks stand in")
    demo.add_argument("--pause-ms", type=float, default=defaults.pause_ms, help="least wall time of a step (ms)")
    demo.add_argument("--lag", type=int, default=defaults.lag, help="steps a simulation may run ahead of its analysis")
    demo.add_argument("--keep-up", action="store_true", help="keep everything up, dashboard included, until Ctrl-C")
    demo.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    languages = tuple(lang.strip() for lang in args.languages.split(",") if lang.strip())
    unknown = [lang for lang in languages if lang not in ("C", "Fortran")]
    if unknown or not languages:
        raise ValueError(f"--languages takes C and/or Fortran, got {args.languages!r}")
    if args.steps < 2 or args.size < 8 or not 1 <= args.ranks <= args.size - 2 or args.lag < 1:
        raise ValueError("need --steps >= 2, --size >= 8, 1 <= --ranks <= size - 2 and --lag >= 1")
    if not args.verbose:  # the Dask cluster's own news (scheduler, nannies) only with simdask -v
        import distributed  # noqa: F401  (importing it sets its loggers' level: lower it after)

        logging.getLogger("distributed").setLevel(logging.WARNING)
    settings = DemoSettings(
        steps=args.steps,
        size=args.size,
        ranks=args.ranks,
        languages=languages,
        out=args.out,
        build_dir=args.build_dir,
        clients_prefix=args.clients_prefix,
        build=not args.no_build,
        keep_up=args.keep_up,
        pause_ms=args.pause_ms,
        lag=args.lag,
    )
    run_demo(settings)
    return 0
