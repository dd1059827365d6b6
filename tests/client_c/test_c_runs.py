"""Runs in the C client (docs/protocol.md, "Runs"): run-scoped keys, the writer identity from the environment, the
registry a run leaves in the store, heartbeats, deletes under the write prefix, and reads of another group's run.

The C side is ``c_runs.c`` (a list of operations per process); the store's raw keys are checked with redis-py.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket

import pytest
from simdask_tests_native import Interactive, Responder, native_env, run_program

from simdask.protocol.scripts import BEGIN_RUN, CLEANUP_CHUNKS, END_RUN


def c_runs(native, address: str, *ops: str, **env: str) -> list[str]:
    """Run c_runs.c's operations in one process (failing the test unless all went as expected); its output lines."""
    return run_program([native.c_tests.parent / "c_runs", *ops], native_env(address, **env)).stdout.splitlines()


def runs_printed(lines: list[str]) -> list[int]:
    """The numbers of the ``RUN n`` lines."""
    return [int(line.split()[1]) for line in lines if line.startswith("RUN ")]


def messages(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("MSG ")]


def registry(r, prefix: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in r.hgetall(f"simdask:{{runs:{prefix}}}").items()}


def run_record(r, prefix: str, n: int) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in r.hgetall(f"simdask:{{runs:{prefix}}}:{n}").items()}


def registry_id(r, prefix: str, n: int) -> str:
    """The run id of run ``n``."""
    return run_record(r, prefix, n)["token"]


def test_each_begun_run_writes_under_its_number_and_registers(native_c, store_client, c_store):
    """Two executions that call sd_begin_run(NULL, -1, -1) (no run in the environment): runs 1 and 2 of the group,
    keys ``sim@1.x`` and ``sim@2.x``, a random run id each, and the registry fields of the protocol."""
    r = store_client.redis()
    for value in (1, 2):
        ops = ("run", "begin", "run", f"put=x:{value}", f"get=x:{value}", "run")
        lines = c_runs(native_c, c_store.address, *ops, SIMDASK_KEY_PREFIX="sim")
        assert runs_printed(lines) == [0, value, value]
    assert r.get("sim.x") is None
    assert r.exists("sim@1.x") and r.exists("sim@2.x")
    reg = registry(r, "sim")
    ids = {k[len("tok:") :]: int(v) for k, v in reg.items() if k.startswith("tok:")}
    assert reg["seq"] == "2" and reg["current"] == "2" and sorted(ids.values()) == [1, 2]
    assert all(re.fullmatch(r"run-[0-9a-f]{16}", run_id) for run_id in ids)
    for run_id, n in ids.items():
        rec = run_record(r, "sim", n)
        assert set(rec) == {"token", "writers", "began", "ended", "w:0"}
        assert rec["token"] == run_id and rec["writers"] == "1" and rec["ended"] == "1"
        assert re.fullmatch(r"\d+\.\d{6}", rec["began"])
        writer = json.loads(rec["w:0"])
        assert writer["host"] == socket.gethostname() and isinstance(writer["pid"], int) and writer["pid"] > 0
        assert writer["began"] == rec["began"] and float(writer["ended"]) >= float(writer["began"])
        assert not r.exists(f"simdask:{{runs:sim}}:{n}:alive:0")  # ended: no heartbeat left
    # the empty prefix: "@n.name"
    assert runs_printed(c_runs(native_c, c_store.address, "begin", "put=y:3", "run")) == [1]
    assert r.exists("@1.y") and not r.exists("y")
    assert registry(r, "")["current"] == "1"


def test_a_run_id_in_the_environment_joins_its_writers_and_ends_with_the_last(native_c, store_client, c_store):
    """SIMDASK_RUN_ID with two writers (two processes): one run, begun lazily at the first write, which the second
    writer reads; ended once both clients are freed. The same id again, with writer 0 taking part a second time,
    is a new run (a reused launcher id)."""
    r = store_client.redis()
    env = {"SIMDASK_KEY_PREFIX": "ens", "SIMDASK_RUN_ID": "case7", "SIMDASK_RUN_WRITERS": "2"}
    lines = c_runs(native_c, c_store.address, "run", "put=a0:10", "run", SIMDASK_RUN_WRITER="0", **env)
    assert runs_printed(lines) == [0, 1]
    rec = run_record(r, "ens", 1)
    assert rec["token"] == "case7" and rec["writers"] == "2" and rec["ended"] == "1"
    assert "w:1" not in rec
    assert [(run.number, run.run_id, run.state) for run in store_client.runs("ens")] == [(1, "case7", "running")]
    lines = c_runs(native_c, c_store.address, "get=a0:10", "put=a1:11", "run", SIMDASK_RUN_WRITER="1", **env)
    assert runs_printed(lines) == [1]
    rec = run_record(r, "ens", 1)
    assert rec["ended"] == "2" and {"w:0", "w:1"} <= set(rec)
    assert [run.state for run in store_client.runs("ens")] == ["ended"]  # Python sees the C run end
    assert r.exists("ens@1.a0") and r.exists("ens@1.a1")
    # the id again: writer 0 already took part in run 1, so this is run 2, and the id now names it
    lines = c_runs(native_c, c_store.address, "put=a0:20", "missing=a1", "run", SIMDASK_RUN_WRITER="0", **env)
    assert runs_printed(lines) == [2]
    reg = registry(r, "ens")
    assert reg["tok:case7"] == "2" and reg["current"] == "2" and reg["seq"] == "2"
    assert run_record(r, "ens", 2)["ended"] == "1"  # writer 1 of run 2 has not come yet


def test_open_mpi_and_slurm_variables_give_the_run(native_c, store_client, c_store):
    """The launchers' variables, faked in plain processes: two ranks with one PMIX_NAMESPACE share run
    ``ompi:<namespace>``; OMPI_MCA_ess_base_jobid serves when PMIX_NAMESPACE is unset; srun's give
    ``slurm:<job>.<step>``; SIMDASK_RUN_ID wins over them and takes the launcher's rank and size."""
    r = store_client.redis()
    for rank in (0, 1):
        ompi = {"PMIX_NAMESPACE": "4242", "OMPI_COMM_WORLD_RANK": str(rank), "OMPI_COMM_WORLD_SIZE": "2"}
        lines = c_runs(native_c, c_store.address, "put=u:1", "run", SIMDASK_KEY_PREFIX="mpi", **ompi)
        assert runs_printed(lines) == [1]
    rec = run_record(r, "mpi", 1)
    assert rec["token"] == "ompi:4242" and rec["writers"] == "2" and rec["ended"] == "2"
    ompi4 = {"OMPI_MCA_ess_base_jobid": "77", "OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "3"}
    c_runs(native_c, c_store.address, "put=u:1", SIMDASK_KEY_PREFIX="ompi4", **ompi4)
    rec = run_record(r, "ompi4", 1)
    assert rec["token"] == "ompi:77" and rec["writers"] == "3" and set(k for k in rec if k.startswith("w:")) == {"w:1"}
    srun = {"SLURM_JOB_ID": "900", "SLURM_STEP_ID": "3", "SLURM_PROCID": "1", "SLURM_STEP_NUM_TASKS": "2"}
    c_runs(native_c, c_store.address, "put=u:1", SIMDASK_KEY_PREFIX="srun", **srun)
    rec = run_record(r, "srun", 1)
    assert rec["token"] == "slurm:900.3" and rec["writers"] == "2" and "w:1" in rec
    ompi = {"PMIX_NAMESPACE": "4242", "OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"}
    c_runs(native_c, c_store.address, "put=u:1", SIMDASK_KEY_PREFIX="named", SIMDASK_RUN_ID="mine", **ompi)
    rec = run_record(r, "named", 1)
    assert rec["token"] == "mine" and rec["writers"] == "2" and "w:1" in rec
    # MPICH's Hydra gives a rank but no job id: SIMDASK_RUN_ID names the run, PMI_RANK of PMI_SIZE the writer
    hydra = {"PMI_RANK": "2", "PMI_SIZE": "3"}
    assert runs_printed(c_runs(native_c, c_store.address, "put=u:1", "run", SIMDASK_KEY_PREFIX="hydra", **hydra)) == [0]
    c_runs(native_c, c_store.address, "put=u:1", SIMDASK_KEY_PREFIX="hydra", SIMDASK_RUN_ID="hy", **hydra)
    rec = run_record(r, "hydra", 1)
    assert rec["token"] == "hy" and rec["writers"] == "3" and "w:2" in rec
    # under SIMDASK_RUN_ID the launcher's rank and size need no job id: Open MPI's, else srun's, else PMI's
    for group, launched, writer, writers in (
        ("r1ompi", {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2", "PMI_RANK": "0", "PMI_SIZE": "5"}, 1, 2),
        ("r1srun", {"SLURM_STEP_ID": "0", "SLURM_PROCID": "2", "SLURM_NTASKS": "4", "PMI_SIZE": "5"}, 2, 4),
        ("r1pmi", {"PMI_SIZE": "3"}, 0, 3),
    ):
        c_runs(native_c, c_store.address, "put=u:1", SIMDASK_KEY_PREFIX=group, SIMDASK_RUN_ID="id", **launched)
        rec = run_record(r, group, 1)
        assert rec["writers"] == str(writers) and f"w:{writer}" in rec, group


def test_a_writer_count_that_differs_from_the_run_s_is_an_error(native_c, store_client, c_store):
    env = {"SIMDASK_KEY_PREFIX": "mm", "SIMDASK_RUN_ID": "m1"}
    c_runs(native_c, c_store.address, "put=x:1", SIMDASK_RUN_WRITER="0", SIMDASK_RUN_WRITERS="2", **env)
    lines = c_runs(
        native_c,
        c_store.address,
        "expect=SD_ERR_STORE",
        "put=x:2",
        "run",
        SIMDASK_RUN_WRITER="1",
        SIMDASK_RUN_WRITERS="3",
        **env,
    )
    [msg] = messages(lines)
    assert "run 1 has 2 writers, this writer says 3" in msg
    assert "'m1'" in msg and "group 'mm'" in msg and "writer 1 of 3" in msg
    assert runs_printed(lines) == [0]
    assert run_record(store_client.redis(), "mm", 1)["writers"] == "2"


def test_environment_variables_that_do_not_parse_are_named(native_c, c_store):
    for var, value in (("SIMDASK_RUN_WRITERS", "two"), ("SIMDASK_RUN_WRITERS", "0"), ("SIMDASK_RUN_LEASE", "soon")):
        [msg] = messages(c_runs(native_c, c_store.address, "new=SD_ERR_ARG", SIMDASK_RUN_ID="x", **{var: value}))
        assert var in msg
    [msg] = messages(
        c_runs(
            native_c,
            c_store.address,
            "new=SD_ERR_ARG",
            SIMDASK_RUN_ID="x",
            SIMDASK_RUN_WRITER="2",
            SIMDASK_RUN_WRITERS="2",
        )
    )
    assert "writer index 2 of 2 writers" in msg


def test_begin_and_end_used_out_of_order(native_c, store_client, c_store):
    """Beginning while in a run, writing after the end, a random id for several writers and a writer index out of
    range are SD_ERR_ARG; ending without a run does nothing; a new sd_begin_run after an end gives the next run."""
    r = store_client.redis()
    lines = c_runs(
        native_c,
        c_store.address,
        "end",
        "run",
        "expect=SD_ERR_ARG",
        "begin=-,0,2",
        "expect=SD_ERR_ARG",
        "begin=id,2,2",
        "begin=id,1,2",
        "put=x:1",
        "expect=SD_ERR_ARG",
        "begin",
        "end",
        "end",
        "expect=SD_ERR_ARG",
        "put=x:2",
        "expect=SD_ERR_ARG",
        "del=x",
        "get=x:1",  # its own (ended) run
        "begin",
        "put=x:3",
        "run",
        SIMDASK_KEY_PREFIX="oo",
    )
    assert runs_printed(lines) == [0, 2]
    msgs = messages(lines)
    assert "needs a run id" in msgs[0] and "writer index 2 of 2 writers" in msgs[1]
    assert "already writing in run 1 of group 'oo' (run id 'id')" in msgs[2]
    assert "has ended run 1 of group 'oo'" in msgs[3] and "has ended run 1" in msgs[4]
    assert run_record(r, "oo", 1)["ended"] == "1" and run_record(r, "oo", 1)["writers"] == "2"
    assert run_record(r, "oo", 2)["ended"] == "1" and run_record(r, "oo", 2)["writers"] == "1"
    assert r.exists("oo@1.x") and r.exists("oo@2.x")


def test_end_begins_a_pending_run_and_reads_begin_none(native_c, store_client, c_store):
    """A writer that writes nothing but calls sd_end_run still counts as ended; a process of the run that only
    reads its own group reads the group's current run and begins nothing (nor ends anything when freed); reads
    of other groups begin nothing either."""
    r = store_client.redis()
    env = {"SIMDASK_KEY_PREFIX": "pe", "SIMDASK_RUN_ID": "lazy", "SIMDASK_RUN_WRITERS": "2"}
    assert runs_printed(c_runs(native_c, c_store.address, "run", "end", "run", SIMDASK_RUN_WRITER="0", **env)) == [0, 1]
    c_runs(native_c, c_store.address, "begin=other,0,1", "put=q:4", SIMDASK_KEY_PREFIX="pe")  # run 2 is current
    lines = c_runs(native_c, c_store.address, "get=q:4", "missing=z", "run", SIMDASK_RUN_WRITER="1", **env)
    assert runs_printed(lines) == [0]
    assert run_record(r, "pe", 1)["ended"] == "1" and "w:1" not in run_record(r, "pe", 1)
    assert registry(r, "pe")["seq"] == "2"
    lines = c_runs(
        native_c,
        c_store.address,
        "get=q:4",
        "run",
        SIMDASK_KEY_PREFIX="ro",
        SIMDASK_KEY_PREFIXES_IN="pe",
        SIMDASK_RUN_ID="ro",
    )
    assert runs_printed(lines) == [0]
    assert not r.exists("simdask:{runs:ro}")


def test_an_mpi_analysis_job_without_a_prefix_reads_the_current_run_until_it_writes(native_c, store_client, c_store):
    """The reason for the read rule: ranks of an MPI job with no key prefix that only read (Open MPI's variables,
    or SIMDASK_RUN_ID) read the simulation's current run and begin no empty run of their own. Once one writes,
    it reads its own run, where the simulation's keys do not show."""
    r = store_client.redis()
    c_runs(native_c, c_store.address, "begin", "put=u:5", "putds=d:6")  # the simulation: run 1 of group ""
    ompi = {"PMIX_NAMESPACE": "88", "OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"}
    for env in (ompi, {"SIMDASK_RUN_ID": "analysis"}):
        lines = c_runs(native_c, c_store.address, "get=u:5", "has=u:1", "getds=d:6", "hasds=d:1", "run", **env)
        assert runs_printed(lines) == [0]
    assert registry(r, "") == {"seq": "1", "current": "1", "tok:" + registry_id(r, "", 1): "1"}
    lines = c_runs(native_c, c_store.address, "get=u:5", "put=v:1", "has=u:0", "hasds=d:0", "get=v:1", "run", **ompi)
    assert runs_printed(lines) == [2]
    assert r.exists("@2.v") and run_record(r, "", 2)["token"] == "ompi:88"


def test_keys_written_outside_runs_show_in_every_run_and_other_runs_never(native_c, store_client, c_store):
    """A plain key (a steering parameter put outside any run) is read through the fallback by a writer in a run,
    by a reader of the group's current run, and by every call that reads a tensor or dataset; a key of an earlier
    run never shows; a miss names both keys."""
    r = store_client.redis()
    c_runs(native_c, c_store.address, "put=steer:3", "putds=cfg:4", SIMDASK_KEY_PREFIX="sim")  # outside runs
    c_runs(native_c, c_store.address, "begin", "put=old:1", "put=steer:9", SIMDASK_KEY_PREFIX="sim")  # run 1
    env = {"SIMDASK_KEY_PREFIX": "sim", "SIMDASK_RUN_ID": "r2"}
    lines = c_runs(
        native_c,
        c_store.address,
        "put=u:1",
        "get=steer:3",
        "has=steer:1",
        "getds=cfg:4",
        "hasds=cfg:1",
        "has=old:0",
        "expect=SD_ERR_NOT_FOUND",
        "get=old:0",
        "expect=SD_ERR_NOT_FOUND",
        "getds=nods:0",
        "run",
        **env,
    )
    assert runs_printed(lines) == [2]
    tensor_miss, dataset_miss = messages(lines)
    assert "'sim@2.old'" in tensor_miss and "(nor at 'sim.old')" in tensor_miss
    assert "sim@2.{nods}" in dataset_miss and "(nor at 'sim.{nods}')" in dataset_miss
    # a reader of the group reads its current run (2), and the plain keys through it
    lines = c_runs(native_c, c_store.address, "get=u:1", "get=steer:3", "getds=cfg:4", SIMDASK_KEY_PREFIXES_IN="sim")
    assert not messages(lines)
    # a plain key the run wrote itself hides the plain one, only in that run
    c_runs(native_c, c_store.address, "put=steer:5", "get=steer:5", SIMDASK_KEY_PREFIX="sim", SIMDASK_RUN_ID="r3")
    assert r.get("sim.steer") is not None and r.exists("sim@3.steer")


def test_a_reader_that_found_no_run_finds_the_run_that_begins_later(native_c, store_client, c_store):
    """A reader of group sim that looked while sim had no run (plain keys, nothing there) looks again when a read
    finds nothing: a poll's next try, like exists, finds the run begun since, which the reader then keeps (a later
    run does not switch it), with plain keys still showing through it."""
    c_runs(native_c, c_store.address, "put=steer:2", SIMDASK_KEY_PREFIX="sim")  # outside runs
    env = native_env(c_store.address, SIMDASK_KEY_PREFIXES_IN="sim")
    program = native_c.c_tests.parent / "c_runs"
    tensor_reader = Interactive(
        [
            program,
            "has=late:0",
            "hasds=d:0",
            "wait=LOOKED",
            "poll=late:3",
            "wait=FOUND",
            "get=late:7",
            "getds=d:8",
            "has=late:1",
            "get=steer:2",
        ],
        env,
    )
    dataset_reader = Interactive([program, "has=late:0", "hasds=d:0", "wait=LOOKED", "pollds=d:3", "get=late:7"], env)
    for reader in (tensor_reader, dataset_reader):
        reader.expect("LOOKED")
    c_runs(native_c, c_store.address, "begin", "put=late:7", "putds=d:8", SIMDASK_KEY_PREFIX="sim")  # run 1
    for reader in (tensor_reader, dataset_reader):
        reader.go()
    tensor_reader.expect("FOUND")
    c_runs(native_c, c_store.address, "begin", "put=late:9", "putds=d:9", SIMDASK_KEY_PREFIX="sim")  # run 2
    tensor_reader.go()
    for reader in (tensor_reader, dataset_reader):
        out, _ = reader.finish()
        assert not messages(out.splitlines())
    assert registry(store_client.redis(), "sim")["current"] == "2"


def test_a_prefixed_name_reads_that_groups_run(native_c, store_client, c_store):
    """SmartSim's idiom: a driver with no prefix reads member ens_0's tensor u as "ens_0.u", which the member wrote
    in its run (ens_0@1.u); a group with no runs adds nothing to look at; a miss names every key tried."""
    c_runs(native_c, c_store.address, "begin", "put=u:4", SIMDASK_KEY_PREFIX="ens_0")
    lines = c_runs(
        native_c,
        c_store.address,
        "get=ens_0.u:4",
        "has=ens_0.u:1",
        "poll=ens_0.u:1",
        "has=ens_1.u:0",
        "expect=SD_ERR_NOT_FOUND",
        "get=ens_0.v:0",
        "expect=SD_ERR_NOT_FOUND",
        "get=ens_1.u:0",
        "begin",  # the driver's own run 1 of group "": its reads are run-scoped
        "get=ens_0.u:4",
        "expect=SD_ERR_NOT_FOUND",
        "get=ens_0.v:0",
    )
    plain_miss, no_run_miss, scoped_miss = messages(lines)
    assert "tensor 'ens_0.v' not found (nor at 'ens_0@1.v')" in plain_miss
    assert "tensor 'ens_1.u' not found" in no_run_miss and "nor at" not in no_run_miss
    assert "tensor '@1.ens_0.v' not found (nor at 'ens_0.v', 'ens_0@1.v')" in scoped_miss


def ranges(lines: list[str]) -> list[str]:
    """The ``RANGE ...`` lines (datasets as ``name=value``)."""
    return [line for line in lines if line.startswith("RANGE")]


def test_a_client_in_no_run_reads_its_list_after_a_run_of_its_group(native_c, store_client, c_store):
    """The issue's case: once an MPI job wrote run 1 of group "" (keys @1.*), a client in no run appends to list L
    (plain key L) while its reads look at @1.L first: length, polls, ranges, datasets, copy and rename all find L
    through the fallback; a list that is nowhere is empty, and copying it names every key tried."""
    r = store_client.redis()
    c_runs(native_c, c_store.address, "begin", "putds=sim:1", "append=runlist:sim")  # run 1: @1.runlist
    lines = c_runs(
        native_c,
        c_store.address,
        "putds=a:2",
        "putds=b:3",
        "append=L:a",
        "append=L:b",
        "len=L:2",
        "range=L",
        "range=L:-1,-1",
        "range=L:5,9",
        "copylist=L:M",
        "len=M:2",
        "renamelist=M:N",
        "len=M:0",
        "range=N",
        "len=nolist:0",
        "range=nolist",
        "expect=SD_ERR_NOT_FOUND",
        "copylist=nolist:X",
        "len=runlist:1",  # the run's own list still reads first
        "range=runlist",
        "run",
    )
    assert runs_printed(lines) == [0]
    assert ranges(lines) == ["RANGE a=2 b=3", "RANGE b=3", "RANGE", "RANGE a=2 b=3", "RANGE", "RANGE sim=1"]
    [miss] = messages(lines)
    assert "aggregation list '@1.nolist' does not exist in the store (nor at 'nolist')" in miss
    assert r.lrange("L", 0, -1) == r.lrange("N", 0, -1) == [b"{a}", b"{b}"]
    assert not r.exists("@1.L", "M", "@1.M", "X", "@1.X")


def test_lists_written_outside_runs_show_in_runs_and_other_groups_runs_are_found(native_c, store_client, c_store):
    """The reverse: a list written outside any run (sim.steer) is read through the fallback by a writer in a run and
    by a reader of that run, and copied from; the run's own list hides the plain one of the same name, past its
    end too; "q.rest" reads list rest of group q's run; with the list prefix off the bare name has no fallback."""
    r = store_client.redis()
    plain = ("putds=cfg:4", "append=steer:cfg", "append=P:cfg", "append=P:cfg", "append=P:cfg")
    c_runs(native_c, c_store.address, *plain, SIMDASK_KEY_PREFIX="sim")  # outside runs
    lines = c_runs(
        native_c,
        c_store.address,
        "putds=u:5",
        "append=P:u",
        "len=steer:1",
        "range=steer",
        "len=P:1",
        "range=P:1,2",
        "copylist=steer:mine",
        "uselist=0",
        "len=P:0",
        "run",
        SIMDASK_KEY_PREFIX="sim",
        SIMDASK_RUN_ID="r1",
    )
    assert runs_printed(lines) == [1]
    assert ranges(lines) == ["RANGE cfg=4", "RANGE"]
    assert r.lrange("sim@1.mine", 0, -1) == [b"sim.{cfg}"] and r.llen("sim.P") == 3
    lines = c_runs(
        native_c,
        c_store.address,
        "len=steer:1",
        "range=P",
        "copylist=steer:got",
        "len=sim.P:1",  # "q.rest": list P in run 1 of group sim
        "uselist=0",
        "len=sim.P:3",  # the bare key sim.P: the plain list
        "len=sim.mine:1",  # no bare sim.mine: in run 1 of group sim
        "expect=SD_ERR_NOT_FOUND",
        "copylist=sim.Q:x",
        SIMDASK_KEY_PREFIXES_IN="sim",
    )
    assert ranges(lines) == ["RANGE u=5"]
    [miss] = messages(lines)
    assert "aggregation list 'sim.Q' does not exist in the store (nor at 'sim@1.Q')" in miss
    assert r.lrange("got", 0, -1) == [b"sim.{cfg}"]


def test_deletes_use_the_write_prefix_and_its_run(native_c, store_client, c_store):
    """The issue's case: with SIMDASK_KEY_PREFIX=runC and SIMDASK_KEY_PREFIXES_IN=other, deleting simdask:end
    removes runC.simdask:end and leaves other.simdask:end; datasets and lists likewise. In a run, a delete removes
    the run's key, not a plain key of the same name."""
    r = store_client.redis()
    for prefix in ("other", "runC"):
        c_runs(native_c, c_store.address, "put=simdask:end:1", "putds=d:1", "append=l:d", SIMDASK_KEY_PREFIX=prefix)
    c_runs(
        native_c,
        c_store.address,
        "del=simdask:end",
        "delds=d",
        "dellist=l",
        SIMDASK_KEY_PREFIX="runC",
        SIMDASK_KEY_PREFIXES_IN="other",
    )
    assert not r.exists("runC.simdask:end", "runC.{d}.meta", "runC.{d}.t", "runC.l")
    assert r.exists("other.simdask:end", "other.{d}.meta", "other.{d}.t", "other.l") == 4
    c_runs(native_c, c_store.address, "put=x:1", SIMDASK_KEY_PREFIX="runC")
    c_runs(
        native_c,
        c_store.address,
        "put=x:2",
        "del=x",
        "putds=d:2",
        "append=l:d",
        "delds=d",
        "dellist=l",
        SIMDASK_KEY_PREFIX="runC",
        SIMDASK_RUN_ID="r1",
    )
    assert r.exists("runC.x") and not r.exists("runC@1.x", "runC@1.{d}.meta", "runC@1.l")


def test_key_prefixes_with_an_at_sign_are_refused(native_c, c_store):
    for env in ({"SIMDASK_KEY_PREFIX": "a@1"}, {"SIMDASK_KEY_PREFIXES_IN": "x,b@2"}):
        [msg] = messages(c_runs(native_c, c_store.address, "new=SD_ERR_ARG", **env))
        assert "'@'" in msg


def test_the_heartbeat_lasts_the_lease_and_is_beaten_on_writes(native_c, store_client, c_store):
    """SIMDASK_RUN_LEASE=2: the heartbeat key expires within 2 s; a write more than a quarter lease later sets it
    again (after 2.3 s without writes it is gone); freeing the client ends the run and drops it."""
    r = store_client.redis()
    alive = "simdask:{runs:hb}:1:alive:0"
    prog = Interactive(
        [
            native_c.c_tests.parent / "c_runs",
            "put=a:1",
            "wait=BEGUN",
            "sleep=2300",
            f"raw={alive}:0",
            "put=b:2",
            f"raw={alive}:1",
            "wait=BEAT",
        ],
        native_env(c_store.address, SIMDASK_KEY_PREFIX="hb", SIMDASK_RUN_ID="h", SIMDASK_RUN_LEASE="2"),
    )
    prog.expect("BEGUN")
    assert 0 < r.pttl(alive) <= 2000
    prog.go()
    prog.expect("BEAT")
    assert 0 < r.pttl(alive) <= 2000
    prog.go()
    prog.finish()
    assert not r.exists(alive) and run_record(r, "hb", 1)["ended"] == "1"


def test_reads_of_another_group_take_its_current_run_until_the_source_is_set_again(native_c, store_client, c_store):
    """A reader of group sim reads its current run, resolved at the first read and kept while a new run begins,
    until sd_set_data_source; a group with no runs is read as plain keys; the reader itself writes plain keys."""
    r = store_client.redis()
    for value in (1, 2):
        c_runs(native_c, c_store.address, "begin", f"put=u:{value}", SIMDASK_KEY_PREFIX="sim")
    c_runs(native_c, c_store.address, "put=u:7", SIMDASK_KEY_PREFIX="plain")
    prog = Interactive(
        [
            native_c.c_tests.parent / "c_runs",
            "get=u:2",
            "wait=READ",
            "get=u:2",
            "source=sim",
            "get=u:3",
            "source=plain",
            "get=u:7",
            "put=w:5",
            "run",
        ],
        native_env(c_store.address, SIMDASK_KEY_PREFIXES_IN="sim,plain"),
    )
    prog.expect("READ")
    c_runs(native_c, c_store.address, "begin", "put=u:3", SIMDASK_KEY_PREFIX="sim")
    prog.go()
    out, _ = prog.finish()
    assert runs_printed(out.splitlines()) == [0]
    assert r.exists("w") and registry(r, "sim")["current"] == "3"


def test_run_requests_read_inputs_from_the_read_run_and_write_outputs_in_the_own_run(native_c, store_client, c_store):
    c_runs(native_c, c_store.address, "begin", "put=u:4", SIMDASK_KEY_PREFIX="sim")
    with Responder(c_store.address) as responder:
        c_runs(native_c, c_store.address, "begin", "model=u:out", SIMDASK_KEY_PREFIX="m", SIMDASK_KEY_PREFIXES_IN="sim")
    [request] = responder.requests
    assert json.loads(request["inputs"]) == ["sim@1.u"] and json.loads(request["outputs"]) == ["m@1.out"]
    assert store_client.redis().exists("m@1.out")


def test_run_scripts_are_byte_identical_on_the_wire(native_c, store_client, c_store):
    """After a C run (begin, a write, the end at free), the store's script cache holds exactly the SHA1s of the
    Python texts of BEGIN_RUN, CLEANUP_CHUNKS and END_RUN."""
    r = store_client.redis()
    r.script_flush()
    c_runs(native_c, c_store.address, "put=x:1", SIMDASK_RUN_ID="wire")
    shas = [hashlib.sha1(text.encode()).hexdigest() for text in (BEGIN_RUN, CLEANUP_CHUNKS, END_RUN)]
    assert r.script_exists(*shas) == [True, True, True]
    assert r.info("memory")["number_of_cached_scripts"] == 3


def test_python_sees_a_killed_c_writer_fail(native_c, store_client, c_store):
    """A C writer killed in its run never ends it: Python's run listing names it failed (its pid is gone)."""
    prog = Interactive(
        [native_c.c_tests.parent / "c_runs", "put=x:1", "wait=HOLD"],
        native_env(c_store.address, SIMDASK_KEY_PREFIX="killed", SIMDASK_RUN_ID="k"),
    )
    prog.expect("HOLD")
    assert [run.state for run in store_client.runs("killed")] == ["running"]
    prog.proc.kill()
    prog.finish(expect_ok=False)
    [run] = store_client.runs("killed")
    assert run.state == "failed" and run.ended == 0 and "pid" in run.dead[0].describe()


@pytest.fixture(autouse=True)
def _empty_store_after(store_client):
    """Leave no run registry behind: later tests read plain keys of the group without a prefix."""
    yield
    store_client.flush()


def test_rename_moves_the_source_it_read(native_c, store_client, c_store):
    """Rename reads the source with the read prefix and writes with the write prefix: the source it removes
    is the one it read, never the writer's own key of the old name."""
    r = store_client.redis()
    for prefix, value in (("other", "5"), ("runC", "7")):
        c_runs(native_c, c_store.address, f"put=old:{value}", SIMDASK_KEY_PREFIX=prefix)
    env = {"SIMDASK_KEY_PREFIX": "runC", "SIMDASK_KEY_PREFIXES_IN": "other"}
    c_runs(native_c, c_store.address, "rename=old:new", **env)
    assert not r.exists("other.old") and r.exists("runC.old", "runC.new") == 2
    assert store_client.get_tensor("runC.new")[0] == 5.0
