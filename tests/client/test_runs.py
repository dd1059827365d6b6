"""Runs (docs/protocol.md, "Runs"): a rerun never shows through an earlier run, from the writer's first key
to the reader's last; a run ends when all its writers have; a dead writer is named."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import time

import dask
import numpy as np
import pytest

import simdask
from simdask.errors import RunFailedError, RunNotFoundError
from simdask.protocol import runs

RUN_VARIABLES = (
    "SIMDASK_RUN_ID",
    "SIMDASK_RUN_WRITERS",
    "SIMDASK_RUN_WRITER",
    "SIMDASK_RUN_LEASE",
    "SIMDASK_KEY_PREFIX",
    "SIMDASK_KEY_PREFIXES_IN",
    "PMIX_NAMESPACE",
    "OMPI_MCA_ess_base_jobid",
    "OMPI_COMM_WORLD_RANK",
    "OMPI_COMM_WORLD_SIZE",
    "SLURM_STEP_ID",
    "SLURM_JOB_ID",
    "SLURM_PROCID",
    "SLURM_NTASKS",
    "SLURM_STEP_NUM_TASKS",
)

# One writer of a run: writes u_<step> (its block of a 1-D field) for `steps` steps, `pause` s apart,
# then ends its part by closing the client (or hangs at the end when told to, to be killed).
WRITER = textwrap.dedent(
    """
    import os, sys, time
    import numpy as np
    import simdask

    steps, pause, value, hang = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "hang"
    rank = int(os.environ.get("SIMDASK_RUN_WRITER", "0"))
    client = simdask.Client()
    for step in range(steps):
        client.put_tensor(f"u_{step}_{rank}", np.full(3, value + step), dims=("x",))
        time.sleep(pause)
    print("run", client.run, flush=True)
    if hang:
        time.sleep(600)
    client.close()
    """
)


@pytest.fixture(params=["standalone", "cluster"])
def run_store(request, monkeypatch):
    for name in RUN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    store = request.getfixturevalue(f"{request.param}_store")
    with simdask.Client(store.address) as client:
        client.flush()
    monkeypatch.setenv("SIMDASK_ADDRESS", store.address)
    return store


def _writer(steps: int, pause: float, value: float, *, hang: bool = False, **env: str) -> subprocess.Popen:
    variables = {k: v for k, v in os.environ.items() if k not in RUN_VARIABLES}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(steps), str(pause), str(value), "hang" if hang else "-"],
        env={**variables, **env},
        stdout=subprocess.PIPE,
        text=True,
    )


def _run(steps: int, value: float, run_id: str, writers: int = 1, prefix: str = "sim") -> None:
    procs = [
        _writer(
            steps,
            0,
            value,
            SIMDASK_RUN_ID=run_id,
            SIMDASK_RUN_WRITERS=str(writers),
            SIMDASK_RUN_WRITER=str(rank),
            SIMDASK_KEY_PREFIX=prefix,
        )
        for rank in range(writers)
    ]
    for proc in procs:
        proc.communicate(timeout=60)
        assert proc.returncode == 0


def _reader(prefix: str = "sim") -> simdask.Client:
    """A client reading writer group ``prefix`` (and writing nothing)."""
    os.environ["SIMDASK_KEY_PREFIXES_IN"] = prefix
    try:
        return simdask.Client()
    finally:
        del os.environ["SIMDASK_KEY_PREFIXES_IN"]


def test_reruns_get_their_own_keys_and_readers_the_current_run(run_store):
    _run(2, 10.0, "case-a")
    _run(2, 20.0, "case-b")
    with simdask.Client() as raw:
        keys = set(raw.keys("sim@*"))
    assert keys == {f"sim@{n}.u_{s}_0" for n in (1, 2) for s in (0, 1)}
    reader = _reader()
    assert reader.get_tensor("u_1_0")[0] == 21.0  # the current run
    listed = [(info.number, info.run_id, info.state, info.writers) for info in reader.runs()]
    assert listed == [(1, "case-a", "ended", 1), (2, "case-b", "ended", 1)]
    reader.set_data_source("sim", run=1)
    assert reader.get_tensor("u_1_0")[0] == 11.0
    reader.set_data_source("sim")
    assert reader.get_tensor("u_1_0")[0] == 21.0


def test_a_reader_keeps_its_run_while_a_new_one_begins(run_store):
    _run(2, 10.0, "a")
    reader = _reader()
    assert reader.get_tensor("u_0_0")[0] == 10.0
    dataset = simdask.open_dataset("u_{step:d}_{rank:d}", reader, name="u")
    _run(2, 50.0, "b")
    assert reader.get_tensor("u_0_0")[0] == 10.0  # not switched in the middle of its work
    assert float(dataset.u.sel(step=1).values[0, 0]) == 11.0  # the lazy dataset reads run 1's keys
    assert float(simdask.open_dataset("u_{step:d}_{rank:d}", reader, name="u").u.sel(step=1).values[0, 0]) == 51.0
    again = simdask.open_dataset("u_{step:d}_{rank:d}", reader, run=1, name="u")
    assert float(again.u.sel(step=0).values[0, 0]) == 10.0


def test_a_run_ends_when_all_its_writers_have(run_store, monkeypatch):
    first = _reader()
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    ranks = [simdask.Client() for _ in range(2)]
    # two writers of one run in one process: writer indexes given explicitly
    ranks[0].begin_run("pair", writer=0, writers=2)
    ranks[1].begin_run("pair", writer=1, writers=2)
    assert ranks[0].run == ranks[1].run == 1
    ranks[0].put_tensor("u_0_0", np.zeros(3))
    ranks[0].end_run()
    info = first.run_info(1, prefix="sim")
    assert (info.state, info.ended, info.writers) == ("running", 1, 2)
    ranks[0].end_run()  # twice counts once
    assert first.run_info(1, prefix="sim").ended == 1
    ranks[1].close()  # closing a client that began a run ends its part
    assert first.run_info(1, prefix="sim").state == "ended"


def test_watch_waits_for_the_next_run_and_never_shows_the_last_one(run_store):
    _run(3, 10.0, "first", writers=2)
    reader = _reader()
    watching = simdask.watch("u_{step:d}_{rank:d}", reader, name="u", timeout=30, interval=0.05)
    procs = [
        _writer(
            3,
            0.2,
            70.0,
            SIMDASK_RUN_ID="second",
            SIMDASK_RUN_WRITERS="2",
            SIMDASK_RUN_WRITER=str(rank),
            SIMDASK_KEY_PREFIX="sim",
        )
        for rank in range(2)
    ]
    seen = [(int(ds.step[0]), float(ds.u.values[0, 0, 0])) for ds in watching]
    for proc in procs:
        proc.communicate(timeout=60)
    assert seen == [(0, 70.0), (1, 71.0), (2, 72.0)]


def test_a_writer_ending_while_its_run_is_read_is_never_taken_for_dead(run_store, monkeypatch):
    """The record and the heartbeats are read at one instant: ending drops the heartbeat, and a record read
    before it with a heartbeat read after it would name a live writer dead."""
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    writer = simdask.Client()
    monkeypatch.delenv("SIMDASK_KEY_PREFIX")
    reader = _reader()
    dead: list[runs.RunInfo] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            info = runs.run_info(reader._session, "sim", writer.run or 1)
            if info is not None and info.dead:
                dead.append(info)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for cycle in range(200):
            writer.begin_run(f"cycle{cycle}", writer=0, writers=2)
            writer.end_run()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not dead, dead[0]


def test_a_killed_writer_fails_the_watch_naming_it(run_store):
    reader = _reader()
    env = dict(SIMDASK_RUN_ID="doomed", SIMDASK_RUN_WRITERS="2", SIMDASK_KEY_PREFIX="sim")
    survivor = _writer(2, 0.1, 1.0, SIMDASK_RUN_WRITER="0", **env)
    victim = _writer(2, 0.1, 1.0, hang=True, SIMDASK_RUN_WRITER="1", **env)
    assert victim.stdout.readline().startswith("run ")
    survivor.communicate(timeout=60)
    watching = simdask.watch("u_{step:d}_{rank:d}", reader, name="u", timeout=30, interval=0.05)
    first = next(watching)  # step 0 is complete: step 1 has begun
    assert int(first.step[0]) == 0
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    began = time.monotonic()
    with pytest.raises(RunFailedError, match=rf"writer 1 \(pid {victim.pid} on .*\) is gone"):
        list(watching)
    assert time.monotonic() - began < 5
    assert reader.run_info(1).state == "failed"


def test_a_writer_that_never_begins_fails_the_run_after_the_lease(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_RUN_LEASE", "0.5")
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    lonely = simdask.Client()
    lonely.begin_run("two", writer=0, writers=2)
    lonely.put_tensor("u_0_0", np.zeros(3))
    reader = _reader()
    assert reader.run_info().state == "running"
    time.sleep(1.0)
    info = reader.run_info()
    assert info.state == "failed"
    with pytest.raises(RunFailedError, match="writer 1 never began"):
        info.check()


def test_heartbeat_lasts_the_lease(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_RUN_LEASE", "30")
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    writer = simdask.Client()
    writer.begin_run()
    with simdask.Client() as raw:
        ttl = raw.redis().pttl("simdask:{runs:sim}:1:alive:0")
    assert 0 < ttl <= 30_000
    writer.end_run()
    assert raw.redis().exists("simdask:{runs:sim}:1:alive:0") == 0


def test_launcher_environment_puts_ranks_in_one_run(run_store):
    env = dict(PMIX_NAMESPACE="4242", OMPI_COMM_WORLD_SIZE="2", SIMDASK_KEY_PREFIX="sim")
    procs = [_writer(1, 0, 5.0, OMPI_COMM_WORLD_RANK=str(r), SIMDASK_RUN_WRITER=str(r), **env) for r in range(2)]
    for proc in procs:
        assert proc.communicate(timeout=60)[0].strip() == "run 1"
    info = _reader().run_info(1)
    assert (info.run_id, info.writers, info.state) == ("ompi:4242", 2, "ended")
    # the same launcher id again (a reused job id): a new run, since its writers already took part in run 1
    procs = [_writer(1, 0, 5.0, OMPI_COMM_WORLD_RANK=str(r), SIMDASK_RUN_WRITER=str(r), **env) for r in range(2)]
    assert {p.communicate(timeout=60)[0].strip() for p in procs} == {"run 2"}


def test_writer_count_must_agree(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    simdask.Client().begin_run("x", writer=0, writers=2)
    with pytest.raises(simdask.errors.ResponseError, match="run 1 has 2 writers, this writer says 3"):
        simdask.Client().begin_run("x", writer=1, writers=3)
    with pytest.raises(ValueError, match=r"writer index 3 is not in \[0, 2\)"):
        simdask.Client().begin_run("x", writer=3, writers=2)


def test_deletes_use_the_write_prefix_and_run(run_store, monkeypatch):
    """The issue's case: a writer deleting its own end marker never touches another group's."""
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "other")
    other = simdask.Client()
    other.put_tensor(simdask.END_OF_RUN, np.array(1))
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "runC")
    monkeypatch.setenv("SIMDASK_KEY_PREFIXES_IN", "other")
    me = simdask.Client()
    me.put_tensor(simdask.END_OF_RUN, np.array(2))
    me.delete_tensor(simdask.END_OF_RUN)
    assert set(me.keys("*simdask:end")) == {"other.simdask:end"}
    me.begin_run()
    me.put_tensor("t", np.zeros(2))
    me.delete_tensor("t")
    assert me.keys("runC@*") == []


def test_prefixes_with_at_are_refused(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "a@1")
    with pytest.raises(ValueError, match="must not contain braces, commas or '@'"):
        simdask.Client()


def test_delete_and_prune_runs(run_store, monkeypatch):
    for n in range(3):
        _run(1, float(n), f"r{n}")
    reader = _reader()
    with pytest.raises(RunNotFoundError):
        reader.delete_run(9)
    assert reader.prune_runs(keep=1) == [1, 2]
    assert [info.number for info in reader.runs()] == [3]
    assert set(reader.keys("sim@*")) == {"sim@3.u_0_0"}
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    live = simdask.Client()
    live.begin_run()
    with pytest.raises(RunFailedError, match="still running"):
        reader.delete_run(live.run)
    assert reader.delete_run(live.run, force=True) == 0


def test_runs_keep_setting_prunes_when_a_python_writer_begins(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    with dask.config.set({"simdask.runs.keep": 2}):
        for n in range(4):
            with simdask.Client() as writer:
                writer.begin_run()
                writer.put_tensor("u", np.full(2, n))
    # beginning run 4 kept the last 2 finished runs (2, 3) besides itself
    assert [info.number for info in _reader().runs()] == [2, 3, 4]


def test_a_pickled_client_writes_in_the_same_run_and_never_ends_it(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    writer = simdask.Client()
    writer.begin_run()
    copy = pickle.loads(pickle.dumps(writer))
    copy.put_tensor("w", np.ones(2))
    copy.close()
    assert writer.keys("sim@*") == ["sim@1.w"]
    assert writer.run_info(1, prefix="sim").state == "running"
    writer.close()
    assert writer.run_info(1, prefix="sim").state == "ended"


def test_identity_from_env_rules():
    assert runs.identity_from_env(
        {"SLURM_JOB_ID": "7", "SLURM_STEP_ID": "0", "SLURM_PROCID": "3", "SLURM_STEP_NUM_TASKS": "4"}
    ) == runs.WriterIdentity("slurm:7.0", 3, 4)
    assert runs.identity_from_env({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "4"}) is None  # a batch script, not srun
    mixed = {"SIMDASK_RUN_ID": "exp-1", "OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "3", "PMIX_NAMESPACE": "9"}
    assert runs.identity_from_env(mixed) == runs.WriterIdentity("exp-1", 1, 3)
    with pytest.raises(ValueError, match="SIMDASK_RUN_WRITERS must be an integer"):
        runs.identity_from_env({"SIMDASK_RUN_ID": "x", "SIMDASK_RUN_WRITERS": "two"})


def test_runs_from_the_command_line(run_store, capsys):
    from simdask.cli import main

    _run(1, 1.0, "first-case")
    _run(1, 2.0, "second-case")
    assert main(["runs", "list", "--prefix", "sim"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] + line.split()[-1:] for line in listing[1:]] == [
        ["1", "ended", "1/1", "first-case"],
        ["2", "ended", "1/1", "second-case"],
    ]
    assert main(["runs", "prune", "--prefix", "sim", "--keep", "1"]) == 0
    assert "deleted runs 1 of writer group 'sim'" in capsys.readouterr().out
    assert main(["runs", "delete", "7", "--prefix", "sim"]) == 1
    assert "writer group 'sim' has no run 7" in capsys.readouterr().err


def test_runs_are_named_by_number_or_id(run_store):
    _run(1, 1.0, "monday")
    _run(1, 2.0, "tuesday")
    reader = _reader()
    reader.set_data_source("sim", run="monday")
    assert reader.get_tensor("u_0_0")[0] == 1.0
    assert reader.run_info("tuesday").number == 2
    assert float(simdask.open_dataset("u_{step:d}_{rank:d}", reader, run="monday", name="u").u.values[0, 0, 0]) == 1.0
    with pytest.raises(RunNotFoundError, match="no run with id 'friday'"):
        simdask.open_dataset("u_{step:d}_{rank:d}", reader, run="friday")
    with pytest.raises(RunNotFoundError, match="no run 5"):
        next(simdask.watch("u_{step:d}_{rank:d}", reader, run=5))


READER = textwrap.dedent(
    """
    import simdask
    client = simdask.Client()
    print(client.get_tensor("u_0_0")[0], client.run, flush=True)
    client.close()
    """
)


def test_a_launched_process_that_only_reads_reads_the_current_run_and_begins_none(run_store):
    _run(1, 3.0, "sim-job")
    variables = {k: v for k, v in os.environ.items() if k not in RUN_VARIABLES}
    env = {
        **variables,
        "PMIX_NAMESPACE": "77",
        "OMPI_COMM_WORLD_RANK": "0",
        "OMPI_COMM_WORLD_SIZE": "1",
        "SIMDASK_KEY_PREFIX": "sim",
    }
    out = subprocess.run([sys.executable, "-c", READER], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["3.0", "None"], out.stderr
    assert [info.run_id for info in _reader().runs()] == ["sim-job"]


def test_keys_written_outside_runs_show_through_and_other_runs_never_do(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    steering = simdask.Client()  # in no run: plain keys
    steering.put_tensor("kappa", np.array([0.5]))
    _run(1, 1.0, "earlier")  # run 1 writes u_0_0
    writer = simdask.Client()
    writer.begin_run()  # run 2
    assert writer.get_tensor("kappa")[0] == 0.5  # outside any run: shows through
    assert writer.tensor_exists("kappa") and writer.tensor_info("kappa").shape == (1,)
    assert not writer.tensor_exists("u_0_0")  # run 1's key never does
    with pytest.raises(simdask.KeyNotFoundError, match=r"sim@2\.u_0_0.*nor at .sim\.u_0_0."):
        writer.get_tensor("u_0_0")
    writer.put_tensor("mine", np.ones(1))
    kappa, mine = writer.get_tensors(["kappa", "mine"])
    assert (kappa[0], mine[0]) == (0.5, 1.0)


def test_after_end_run_writes_are_refused_and_reads_stay(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    writer = simdask.Client()
    writer.begin_run()
    writer.put_tensor("a", np.ones(2))
    writer.end_run()
    with pytest.raises(RunFailedError, match="ended its part of run 1"):
        writer.put_tensor("b", np.ones(2))
    assert writer.get_tensor("a")[0] == 1.0
    assert writer.begin_run() == 2  # a new run, explicitly


def test_end_run_of_a_launched_writer_that_wrote_nothing_ends_its_part(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    monkeypatch.setenv("SIMDASK_RUN_ID", "pair")
    monkeypatch.setenv("SIMDASK_RUN_WRITERS", "2")
    busy = simdask.Client()
    busy.put_tensor("u", np.zeros(1))  # writer 0 begins the run by writing
    monkeypatch.setenv("SIMDASK_RUN_WRITER", "1")
    idle = simdask.Client()
    idle.close()  # closing begins nothing
    assert busy.run_info(1, prefix="sim").members[1].began is None
    idle.end_run()  # an explicit end of a writer that wrote nothing: begins and ends its part
    busy.end_run()
    assert busy.run_info(1, prefix="sim").state == "ended"


EXITING = textwrap.dedent(
    """
    import sys
    import numpy as np
    import simdask
    client = simdask.Client()
    client.put_tensor("u", np.zeros(2))
    if sys.argv[1] == "raise":
        raise RuntimeError("the solver diverged")
    """
)


@pytest.mark.parametrize(("how", "state"), [("exit", "ended"), ("raise", "failed")])
def test_a_python_writer_ends_its_part_at_exit_unless_it_dies_of_an_exception(run_store, how, state):
    variables = {k: v for k, v in os.environ.items() if k not in RUN_VARIABLES}
    env = {**variables, "SIMDASK_RUN_ID": f"job-{how}", "SIMDASK_KEY_PREFIX": "sim"}
    subprocess.run([sys.executable, "-c", EXITING, how], env=env, capture_output=True, timeout=60)
    assert _reader().run_info(f"job-{how}").state == state


def test_a_prefixed_name_reads_that_groups_run(run_store):
    """SmartSim's idiom: a driver reads member ens_0's "y" as "ens_0.y"; the member wrote it in its run."""
    _run(1, 4.0, "member", prefix="ens_0")
    with simdask.Client() as driver:
        assert driver.get_tensor("ens_0.u_0_0")[0] == 4.0
        assert driver.tensor_exists("ens_0.u_0_0")
        assert not driver.tensor_exists("ens_1.u_0_0")


def test_a_reader_that_found_no_run_finds_the_run_that_begins_later(run_store, monkeypatch):
    reader = _reader()
    assert not reader.tensor_exists("late")  # the group has no run yet: plain keys, and nothing there
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    writer = simdask.Client()
    writer.begin_run()
    writer.put_tensor("late", np.full(2, 7.0))
    assert reader.poll_tensor("late", 10, 10)
    assert reader.get_tensor("late")[0] == 7.0


def test_watch_by_run_id_waits_for_it_and_follows_it_even_when_it_already_ended(run_store):
    _run(2, 9.0, "launched")  # ended before the watch is called: a run id still finds it
    seen = [int(ds.step[0]) for ds in simdask.watch("u_{step:d}_{rank:d}", _reader(), run="launched", timeout=30)]
    assert seen == [0, 1]
    watching = simdask.watch("u_{step:d}_{rank:d}", _reader(), run="not-yet", name="u", timeout=30, interval=0.05)
    writer = _writer(2, 0.1, 3.0, SIMDASK_RUN_ID="not-yet", SIMDASK_KEY_PREFIX="sim")
    assert [float(ds.u.values[0, 0, 0]) for ds in watching] == [3.0, 4.0]
    writer.communicate(timeout=60)


def test_a_malformed_writer_record_reads_as_a_dead_writer_not_a_crash(run_store, monkeypatch):
    monkeypatch.setenv("SIMDASK_KEY_PREFIX", "sim")
    writer = simdask.Client()
    writer.begin_run()
    writer.redis().hset("simdask:{runs:sim}:1", "w:0", "[1, 2]")
    info = _reader().run_info(1)
    assert info.state == "failed" and "unreadable registry record" in info.dead[0].death
