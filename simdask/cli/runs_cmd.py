"""``simdask runs list|delete|prune``: the runs of a writer group (``docs/protocol.md``, "Runs")."""

from __future__ import annotations

import argparse
import datetime

from ..client import Client


def register(commands: argparse._SubParsersAction) -> None:
    runs = commands.add_parser("runs", help="list, delete or prune the runs of a writer group")
    actions = runs.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every run of the group: number, id, writers, state")
    delete = actions.add_parser("delete", help="delete one run's keys (refused while it runs, unless --force)")
    delete.add_argument("number", type=int, help="the run's number")
    delete.add_argument("--force", action="store_true", help="delete it even while it is running")
    prune = actions.add_parser("prune", help="delete all but the last KEEP finished runs")
    prune.add_argument("--keep", type=int, required=True, help="finished runs to keep")
    for parser in (listing, delete, prune):
        parser.add_argument("--address", help="the store (default: $SIMDASK_ADDRESS)")
        parser.add_argument("--prefix", default="", help="the writer group: its key prefix (default: none)")
    listing.set_defaults(run=_list)
    delete.set_defaults(run=_delete)
    prune.set_defaults(run=_prune)


def _list(args: argparse.Namespace) -> int:
    with Client(args.address) as client:
        infos = client.runs(args.prefix)
    if not infos:
        print(f"writer group {args.prefix!r} has no runs")
        return 0
    print(f"{'run':>5}  {'state':8} {'writers':>9}  {'began':19}  id")
    for info in infos:
        began = datetime.datetime.fromtimestamp(info.began).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{info.number:>5}  {info.state:8} {info.ended:>4}/{info.writers:<4}  {began}  {info.run_id}")
        for writer in info.dead:
            print(f"       {writer.describe()} {writer.death}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    with Client(args.address) as client:
        deleted = client.delete_run(args.number, args.prefix, force=args.force)
    print(f"deleted run {args.number} of writer group {args.prefix!r} ({deleted} keys)")
    return 0


def _prune(args: argparse.Namespace) -> int:
    with Client(args.address) as client:
        deleted = client.prune_runs(args.keep, args.prefix)
    print(f"deleted runs {', '.join(map(str, deleted)) or 'none'} of writer group {args.prefix!r}")
    return 0
