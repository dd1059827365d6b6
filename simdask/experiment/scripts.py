"""The bodies of job scripts: a store, a model (with its co-located stores), recording the exit status.

Job scripts ``cd`` into their run directory first, so paths here are relative
to it. Each records its command's exit status in ``<name>.exitcode`` (a job
killed by its scheduler records nothing: that is how a cancelled job is told
from a failed one where the scheduler cannot say).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from .entities import Model, StoreEntity
from .launchers import Launcher

__all__ = ["colocated_lines", "record_exit", "spread_cluster_lines", "store_argv", "store_command"]


def record_exit(command: Sequence[str], exitcode_name: str, *, after: Sequence[str] = ()) -> list[str]:
    """Run ``command`` (shell lines), then ``after``, then record the command's exit status and exit with it."""
    return [*command, "rc=$?", *after, f"echo $rc > {shlex.quote(exitcode_name)}", "exit $rc"]


def store_argv(python: str, store: StoreEntity, kind: str, *, socket: str | None = None) -> list[str]:
    """``simdask store start --foreground ...`` for ``store`` (without ``--host`` and ``--run-dir``)."""
    argv = [python, "-m", "simdask", "store", "start", "--foreground", "--kind", kind]
    if kind == "cluster":
        argv += ["--shards", str(store.shards)]
    if store.port is not None:
        argv += ["--port", str(store.port)]
    if socket:
        argv += ["--socket", socket]
    if store.maxmemory is not None:
        argv += ["--maxmemory", str(store.maxmemory)]
    if store.password == "":
        argv.append("--no-password")
    if store.serve:
        argv += ["--serve", str(store.serve)]
    return argv


def store_command(launcher: Launcher, python: str, store: StoreEntity, host: str | None) -> str:
    """The line that runs a standalone or cluster store in its job, bound to ``host`` (``None``: the node's name)."""
    argv = [*store_argv(python, store, store.store_kind), "--run-dir", str(store.path)]
    if host is not None:
        return shlex.join(launcher.service_command([*argv, "--host", host]))
    inner = f'exec {shlex.join(argv)} --host "$(hostname)"'  # resolved on the node the store runs on
    return shlex.join(launcher.service_command(["bash", "-c", inner]))


def colocated_lines(
    launcher: Launcher, python: str, store: StoreEntity, model: Model, exitcode_name: str, timeout: float
) -> tuple[list[str], list[str]]:
    """Lines before a model's ranks (start one store per node, wait for all) and after them (stop the stores)."""
    assert store.socket_path is not None
    nodes = model.batch.nodes
    folder = shlex.quote(store.name)
    argv = store_argv(python, store, "unix", socket=store.socket_path)
    inner = f'exec {shlex.join(argv)} --run-dir "$PWD"/{folder}/"$(hostname -s)"'
    step = f"simdask-{store.name}"
    stop = launcher.stop_per_node(step, "simdask_store")
    before = [
        f"rm -rf {folder} && mkdir -p {folder}",
        shlex.join(launcher.per_node_command(["bash", "-c", inner], nodes, step)) + " &",
        "simdask_store=$!",
        *_wait_ready(store.name, folder, nodes, "co-located store", stop, exitcode_name, timeout),
    ]
    return before, [*stop, "wait $simdask_store 2>/dev/null"]


def _wait_ready(
    name: str, folder: str, nodes: int, what: str, stop: Sequence[str], exitcode_name: str, timeout: float
) -> list[str]:
    """Lines that wait until the stores in ``folder/<node>/`` of ``nodes`` nodes are ready; else stop them and
    exit 1 (they died, or ``timeout`` seconds passed)."""
    return [
        f"simdask_deadline=$((SECONDS + {int(timeout)}))",
        # store.json says "starting" while its servers start: count the ready ones
        f'until [ "$(grep -l \'"state": "ready"\' {folder}/*/store.json 2>/dev/null | wc -l)" -ge {nodes} ]; do',
        "  if ! kill -0 $simdask_store 2>/dev/null || [ $SECONDS -ge $simdask_deadline ]; then",
        f'    echo "simdask: {what} {name} did not start on {nodes} node(s); see {folder}/" >&2',
        *(f"    {line}" for line in stop),
        f"    echo 1 > {shlex.quote(exitcode_name)}; exit 1",
        "  fi",
        "  sleep 0.1",
        "done",
    ]


def spread_cluster_lines(
    launcher: Launcher, python: str, store: StoreEntity, host: str | None, exitcode_name: str, timeout: float
) -> list[str]:
    """The body of a cluster store's job whose shards run on every node of the job: each node starts its
    shards (``--no-form``, run directory ``shards/<node>``), then ``simdask store join`` forms one cluster
    of them all and records it in the job's run directory; the job lasts as long as the shards."""
    nodes = store.batch.nodes
    argv = store_argv(python, store, "cluster")
    argv[argv.index("--shards") + 1] = str(shards_per_node(store.shards, nodes))
    bind = shlex.quote(host) if host is not None else '"$(hostname)"'  # an interface name: each node's address
    inner = f'exec {shlex.join([*argv, "--no-form"])} --host {bind} --run-dir "$PWD"/shards/"$(hostname -s)"'
    step = f"simdask-{store.name}"
    stop = launcher.stop_per_node(step, "simdask_store")
    join = [python, "-m", "simdask", "store", "join", "--run-dir", ".", "--timeout", str(int(timeout))]
    return [
        "rm -rf shards && mkdir -p shards",
        shlex.join(launcher.per_node_command(["bash", "-c", inner], nodes, step)) + " &",
        "simdask_store=$!",
        *_wait_ready(store.name, "shards", nodes, "cluster store", stop, exitcode_name, timeout),
        f"if ! {shlex.join(join)} shards/*; then",
        *(f"  {line}" for line in stop),
        f"  echo 1 > {shlex.quote(exitcode_name)}; exit 1",
        "fi",
        *record_exit(["wait $simdask_store"], exitcode_name),
    ]


def shards_per_node(shards: int, nodes: int) -> int:
    """Servers each node of a spread cluster runs: ``shards`` over ``nodes`` rounded up, 3 in all at least."""
    return max(-(-shards // nodes), -(-3 // nodes))
