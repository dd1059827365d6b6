"""What a Jupyter kernel starts goes with it: a kernel shut down exits normally, a kernel restarted is killed.

A Python child (the kernel) starts a Store, a Store(serve=1) and an
Experiment with its store and a Dask LocalCluster, prints the pids of every
process under it and waits. Killed with SIGKILL (a restart that does not
wait), the watchdogs stop everything within seconds; exiting normally (a
shutdown), everything is stopped before the interpreter is gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from experiment_helpers import alive

KERNEL = """\
import json, sys
import psutil
import simdask

if __name__ == "__main__":  # Dask's worker processes start by spawn, which imports this file again
    store = simdask.Store().start()
    serving = simdask.Store(serve=1).start()
    exp = simdask.Experiment("kernel", exp_path=sys.argv[1], launcher="local")
    exp_store = exp.create_store()
    dask = exp.create_dask_cluster(workers=1, dashboard_address="127.0.0.1:0")
    exp.start(exp_store, dask)
    dask.get_client(timeout=60)
    del exp  # a cell run again rebinds the name: what it started must still stop
    pids = {p.pid: " ".join(p.cmdline()) for p in psutil.Process().children(recursive=True)}
    print(json.dumps({"pids": pids, "run_dirs": [str(store.run_dir), str(serving.run_dir)]}), flush=True)
    sys.stdin.readline()  # until told to exit (or killed)
"""

#: Seconds for the watchdogs to stop what a killed kernel left: the stores stop at SIGTERM at once; this
#: bounds a loaded machine, far below the stop timeouts after which they would SIGKILL.
BOUND_S = 30.0


@pytest.fixture
def kernel(tmp_path):
    """The child started and ready: (process, {pid: command line}, temporary run directories of its Stores)."""
    script = tmp_path / "kernel.py"
    script.write_text(KERNEL)
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "exp")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    procs: list[psutil.Process] = []
    try:
        started = json.loads(child.stdout.readline() or "{}")
        assert started, "the kernel child failed to start its stores and experiment"
        pids = {int(pid): cmd for pid, cmd in started["pids"].items()}
        procs += [psutil.Process(pid) for pid in alive(list(pids))]
        yield child, pids, [Path(d) for d in started["run_dirs"]]
    finally:
        child.kill()
        child.wait()
        for proc in procs:  # what a failed check left (psutil checks it is still the same process)
            try:
                proc.kill()
            except psutil.Error:
                pass


def _gone_within(pids: dict[int, str], seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while alive(list(pids)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [pids[pid] for pid in alive(list(pids))]


def _kinds(pids: dict[int, str]) -> set[str]:
    """What runs, by kind, so that the test checks it started all it kills."""
    kinds = {
        "server": "valkey-server",
        "serving loops": " serve --threads ",
        "experiment store": "store start --foreground",
        "dask worker": "spawn_main",
        "watchdog": "watchdog.py",
    }
    return {kind for kind, mark in kinds.items() for cmd in pids.values() if mark in cmd}


def test_a_killed_kernel_leaves_nothing_running(kernel, tmp_path):
    child, pids, run_dirs = kernel
    assert _kinds(pids) == {"server", "serving loops", "experiment store", "dask worker", "watchdog"}
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert _gone_within(pids, BOUND_S) == []
    assert not any(d.exists() for d in run_dirs)  # the Stores' temporary run directories went too
    assert not (tmp_path / "exp" / "store" / "store.json").exists()  # the experiment's store stopped cleanly


def test_a_kernel_that_exits_stops_everything_first(kernel, tmp_path):
    child, pids, run_dirs = kernel
    child.stdin.close()
    assert child.wait(60) == 0
    stores = {pid: cmd for pid, cmd in pids.items() if "watchdog.py" not in cmd and "multiprocessing" not in cmd}
    assert [pids[pid] for pid in alive(list(stores))] == []  # stopped at exit, before the interpreter ended
    assert _gone_within(pids, BOUND_S) == []  # the watchdogs, Dask's worker process and its tracker follow
    assert not any(d.exists() for d in run_dirs)
    assert "simdask store stopped" in (tmp_path / "exp" / "store" / "store.err").read_text()
