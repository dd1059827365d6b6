"""sd_run_model from C goes to a serving loop on the caller's node (SIMDASK_NODE), else to any loop.

Simulated nodes on one machine: ``simdask serve --threads 1`` processes with
``SIMDASK_NODE=n0`` / ``n1``; the C program ``c_models run`` with
``SIMDASK_NODE`` n0, n1 or n2 (no loop there). The loops' records say which
one answered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from simdask_tests_native import native_env, run_program
from test_c_models import doubling_model

import simdask
from simdask import env
from simdask.inference.stats import loop_records
from simdask.protocol.requests import loop_nodes, node_stream

pytest.importorskip("torch", reason="serving a TorchScript model needs torch (pip install 'simdask[torch]')")


@contextmanager
def serving_on(address: str, node: str) -> Iterator[str]:
    """A ``simdask serve --threads 1`` process on simulated node ``node``; yields its loop's consumer name,
    once its lease on ``node`` is alive."""
    name = f"c-at-{node}"
    command = [str(Path(sys.executable).with_name("simdask")), "serve", "--threads", "1", "--name", name]
    process = subprocess.Popen(
        [*command, "--address", address], env={**os.environ, env.NODE: node}, stdout=subprocess.DEVNULL
    )
    try:
        client, deadline = simdask.Client(address), time.monotonic() + 60
        while f"{name}-0" not in loop_nodes(client.session, [node])[node]:
            assert process.poll() is None and time.monotonic() < deadline, f"no serving loop on {node}"
            time.sleep(0.05)
        yield f"{name}-0"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.mark.parametrize("kind", ["standalone", "cluster"])
def test_run_model_from_c_is_served_on_the_callers_node(native_c, request, tmp_path, kind):
    store = request.getfixturevalue(f"{kind}_store")
    client = simdask.Client(store.address)
    client.flush()
    client.set_model("c_run", doubling_model(tmp_path / "double.pt"), backend="TORCH")
    with ExitStack() as stack:
        loops = {node: stack.enter_context(serving_on(store.address, node)) for node in ("n0", "n1")}

        def served() -> dict[str, int]:
            """Requests each node's loop answered OK, and requests sent to each node's stream."""
            records = loop_records(client.session, list(loops.values()))
            sent = {n: client.redis().xinfo_stream(node_stream(n))["entries-added"] for n in loops}
            return {n: sum(records[c].served.values()) if c in records else 0 for n, c in loops.items()} | {
                f"sent to {n}": sent[n] for n in loops
            }

        for caller, runs in (("n1", 2), ("n0", 1), ("n2", 2)):
            before = served()
            for _ in range(runs):
                program = [native_c.c_tests.parent / "c_models", "run", "c_run"]
                run_program(program, native_env(store.address, **{env.NODE: caller}))
            after = served()
            gained = {key: after[key] - before[key] for key in after}
            assert sum(gained[node] for node in loops) == runs, gained
            if caller in loops:
                assert gained[caller] == gained[f"sent to {caller}"] == runs, gained
            else:
                assert all(gained[f"sent to {node}"] == 0 for node in loops), gained
