"""``simdask keys [PATTERN]`` and ``simdask get NAME``: look at what a store holds, from a shell."""

from __future__ import annotations

import argparse

import numpy as np

from ..client import Client
from ..protocol.keys import is_internal


def register(commands: argparse._SubParsersAction) -> None:
    keys = commands.add_parser("keys", help="the keys of the store that match a glob pattern (every shard)")
    keys.add_argument("pattern", nargs="?", default="*", help="glob pattern (default: every key)")
    keys.add_argument("--all", action="store_true", help="also simdask's own keys (simdask:...)")
    get = commands.add_parser("get", help="a tensor's description and values")
    get.add_argument("name", help="the tensor's name (the read prefix of $SIMDASK_KEY_PREFIXES_IN applies)")
    get.add_argument("--full", action="store_true", help="print every value, not numpy's summary")
    for parser in (keys, get):
        parser.add_argument("--address", help="the store (default: $SIMDASK_ADDRESS)")
    keys.set_defaults(run=_keys)
    get.set_defaults(run=_get)


def _keys(args: argparse.Namespace) -> int:
    with Client(args.address) as client:
        found = sorted(k for k in client.keys(args.pattern) if args.all or not is_internal(k))
    for key in found:
        print(key)
    return 0


def _get(args: argparse.Namespace) -> int:
    with Client(args.address) as client:
        info = client.tensor_info(args.name)
        array = client.get_tensor(args.name)
    dims = f" dims={'/'.join(info.dims)}" if info.dims else ""
    print(f"{args.name}: {np.dtype(info.dtype).name} {tuple(info.shape)} order {info.order}{dims}")
    for label, value in (("attrs", info.attrs), ("coords", info.coords), ("block", info.block)):
        if value:
            print(f"{label}: {value}")
    with np.printoptions(threshold=array.size + 1 if args.full else 1000):
        print(array)
    return 0
