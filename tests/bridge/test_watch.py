"""watch: steps written by a separate process are yielded as they complete, until the end-of-run marker."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import xarray as xr

import simdask
from simdask.bridge.catalog import Catalog
from simdask.bridge.watch import _Steps
from simdask.errors import RunFailedError

WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import simdask

    client = simdask.Client(sys.argv[1])
    steps, pause = int(sys.argv[2]), float(sys.argv[3])
    client.delete_tensor(simdask.END_OF_RUN)
    for step in range(steps):
        for rank, width in enumerate((3, 2)):
            client.put_tensor(f"rank{rank}/u_{step}", np.full((2, width), step + rank / 10), dims=("y", "x"))
            client.put_tensor(f"rank{rank}/n_{step}", np.array(step * 10 + rank))
        time.sleep(pause)
    client.put_tensor(simdask.END_OF_RUN, np.array(steps))
    """
)


def _writer(address: str, steps: int, pause: float, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, address, str(steps), str(pause)], env={**os.environ, **env})


@pytest.fixture(params=["standalone", "cluster"])
def watched(request, monkeypatch):
    """A real store of each kind, emptied."""
    store = request.getfixturevalue(f"{request.param}_store")
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Client(store.address) as client:
        client.flush()
    return store


@pytest.fixture
def client(watched):
    with simdask.Client(watched.address) as client:
        yield client


def test_steps_written_by_another_process_arrive_in_order(watched, monkeypatch):
    writer = _writer(watched.address, 6, 0.15, SIMDASK_KEY_PREFIX="run7")
    monkeypatch.setenv("SIMDASK_KEY_PREFIXES_IN", "run7")
    seen = []
    try:
        with simdask.Client(watched.address) as reader:  # reads run7.* and sees run7.simdask:end
            for ds in simdask.watch("rank{rank:d}/{var}_{step:d}", reader, concat={"rank": "x"}, timeout=30):
                assert ds.sizes["step"] == 1 and ds.u.shape == (1, 2, 5)
                seen.append(ds.compute())
    finally:
        assert writer.wait(timeout=60) == 0
    run = xr.concat(seen, "step")
    assert run.step.values.tolist() == list(range(6))
    expected = np.array([[[s] * 3 + [s + 0.1] * 2] * 2 for s in range(6)])
    np.testing.assert_allclose(run.u.values, expected)
    # n has no x dimension: its ranks stack instead of tiling
    assert run.n.dims == ("rank", "step") and run["rank"].values.tolist() == [0, 1]
    np.testing.assert_array_equal(run.n.values, [[s * 10 + r for s in range(6)] for r in range(2)])


def test_a_step_waits_for_every_variable_and_a_later_step(client):
    client.put_tensor("u.0", np.zeros(2))
    client.put_tensor("v.0", np.zeros(2))
    client.put_tensor("u.1", np.ones(2))  # step 1 lacks v: only step 0 is complete
    stream = simdask.watch("{var}.{step:d}", client, timeout=0.5, interval=0.05)
    first = next(stream)
    assert first.step.values.tolist() == [0] and sorted(first.data_vars) == ["u", "v"]
    with pytest.raises(simdask.WatchTimeoutError, match=r"no new complete step .* \(1 step\(s\) so far"):
        next(stream)


def test_the_end_marker_flushes_the_last_steps(client):
    for s in range(4):
        client.put_tensor(f"T.{s}", np.full(3, float(s)))
    client.put_tensor(f"q.{0}", np.zeros(3))
    client.put_tensor(simdask.END_OF_RUN, np.array(4))
    out = io.StringIO()
    batches = list(simdask.watch("{var}.{step:d}", client, batch=True, missing="nan", progress=out))
    assert len(batches) == 1
    np.testing.assert_array_equal(batches[0].T.values[:, 0], [0, 1, 2, 3])
    assert np.isnan(batches[0].q.values[1:]).all()
    assert "4 step(s), last 3" in out.getvalue() and out.getvalue().endswith("\n")
    with pytest.raises(simdask.KeyNotFoundError, match=r"'q\.1'"):
        list(simdask.watch("{var}.{step:d}", client))


def test_no_steps_at_all_times_out(watched):
    with pytest.raises(TimeoutError, match="within 0.2 s"):
        list(simdask.watch("x.{step:d}", watched.address, timeout=0.2, interval=0.05))
    with pytest.raises(ValueError, match="needs a field"):
        next(simdask.watch("x", watched.address))


def test_refreshing_reads_only_new_headers(client):
    raw = client.redis()
    client.put_tensor("u.0", np.zeros(2))
    client.put_tensor("u.1", np.zeros(2))
    catalog = Catalog(client, "u.{step:d}")
    assert [e.key for e in catalog.refresh()] == ["u.0", "u.1"]
    raw.set("u.0", b"no longer a tensor")  # a header read again would fail
    client.put_tensor("u.2", np.zeros(3))
    assert [(e.key, e.info.shape) for e in catalog.refresh()] == [("u.2", (3,))]
    assert catalog.refresh() == [] and len(catalog.entries) == 3
    raw.close()


def test_a_refresh_forgets_deleted_keys_and_reads_them_again_when_rewritten(client):
    from simdask.bridge.catalog import Catalog

    client.put_tensors({f"u.{s}": np.zeros(2) for s in range(5)})
    catalog = Catalog(client, "u.{step:d}")
    assert len(catalog.refresh()) == 5
    client.delete_tensor("u.1")
    client.delete_tensor("u.3")
    assert catalog.refresh() == [] and [e.key for e in catalog.entries] == ["u.0", "u.2", "u.4"]
    client.put_tensor("u.3", np.zeros((2, 2)))
    assert [(e.key, e.info.shape) for e in catalog.refresh()] == [("u.3", (2, 2))]
    # a probe looks at given keys only: it finds new ones and forgets those gone
    client.delete_tensor("u.0")
    client.put_tensor("u.9", np.zeros(1))
    assert [e.key for e in catalog.probe([{"step": 0}, {"step": 9}, {"step": 10}])] == ["u.9"]
    assert "u.0" not in catalog and "u.9" in catalog and "u.10" not in catalog


def _scans(client) -> int:
    """SCAN calls the (standalone) store has answered so far."""
    raw = client.redis()
    try:
        return int(raw.info("commandstats").get("cmdstat_scan", {}).get("calls", 0))
    finally:
        raw.close()


def test_a_long_watch_keeps_bounded_bookkeeping_and_does_not_rescan_every_step(standalone_store, monkeypatch):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Client(standalone_store.address) as client:
        client.flush()
        keep, steps = 5, 150  # the writer keeps its last 5 steps, as a long simulation may

        def write(step: int) -> None:
            client.put_tensors({f"{var}.{step}": np.full(2, float(step)) for var in "uv"})
            if step >= keep:
                client.delete_tensor(f"u.{step - keep}")
                client.delete_tensor(f"v.{step - keep}")

        write(0)
        stream = simdask.watch("{var}.{step:d}", client, interval=0, timeout=30, progress=False)
        scans = _scans(client)
        sizes = []
        for step in range(1, steps + 1):
            write(step)
            ds = next(stream)
            assert int(ds.step[0]) == step - 1 and float(ds.u[0, 0]) == step - 1
            state = stream.gi_frame.f_locals
            tracked, catalog = state["steps"], state["source"].catalog
            sizes.append((len(catalog.entries), len(tracked.cells), len(tracked.done)))
        stream.close()
        # the pending step only (two keys), no yielded step remembered one by one; scans only at the start
        assert max(sizes) <= (2, 1, 1), max(sizes)
        assert _scans(client) - scans <= 3


def test_keys_deleted_before_their_step_is_yielded_are_forgotten(client):
    client.put_tensors({"u.0": np.zeros(2), "v.0": np.zeros(2), "u.1": np.ones(2)})  # step 1 lacks v
    stream = simdask.watch("{var}.{step:d}", client, missing="nan", interval=0.01, timeout=10)
    assert next(stream).step.values.tolist() == [0]
    client.delete_tensor("u.1")  # a consumer dropped step 1 before the watch yielded it
    client.put_tensors({"u.2": np.full(2, 2.0), "v.2": np.full(2, 2.0)})
    client.put_tensor(simdask.END_OF_RUN, np.array(3))
    rest = [ds.compute() for ds in stream]
    assert [int(ds.step[0]) for ds in rest] == [2]
    np.testing.assert_array_equal(rest[0].u.values, [[2.0, 2.0]])


def test_steps_the_probes_cannot_foresee_are_found_by_a_scan(client):
    client.put_tensors({f"u.{s}": np.full(1, s) for s in range(3)})
    stream = simdask.watch("u.{step:d}", client, interval=0.01, timeout=10)
    assert [int(next(stream).step[0]) for _ in range(2)] == [0, 1]
    client.put_tensors({"u.500": np.full(1, 500), "u.1000": np.full(1, 1000)})  # far past what probes look at
    assert [int(next(stream).step[0]) for _ in range(2)] == [2, 500]
    stream.close()


def test_steps_a_scan_saw_out_of_order_set_the_stride_and_none_is_passed_over(client):
    # a scan returns keys in the store's hash order (say 3, 10, 0, ...): the probes' stride is the smallest gap
    # between the steps seen, never the gap between two keys in that order, or the probes would find step 17
    # first and pass over 11-16
    client.put_tensors({f"u.{s}": np.full(1, s) for s in range(11)})
    catalog = Catalog(client, "u.{step:d}")
    by_step = {e.fields["step"]: e for e in catalog.refresh()}
    steps = _Steps(catalog, "step")
    steps.add([by_step[s] for s in (3, 10, 0, 1, 2, 4, 5, 6, 7, 8, 9)])
    assert steps.stride == 1
    stream = simdask.watch("u.{step:d}", client, batch=True, interval=0.01, timeout=10)
    seen = [int(s) for s in next(stream).step.values]
    client.put_tensors({f"u.{s}": np.full(1, s) for s in range(11, 40)})
    client.put_tensor(simdask.END_OF_RUN, np.array(39))
    seen += [int(s) for ds in stream for s in ds.step.values]
    assert seen == list(range(40))


# -- writers that die (docs/protocol.md, "Runs": when a watch knows that a run failed) ---------------------------

# A writer of run SIMDASK_RUN_ID that puts step 0 ("write") or nothing ("idle"), says so, then waits to be killed.
DOOMED = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import simdask

    client = simdask.Client(sys.argv[2])
    if sys.argv[1] == "write":
        client.put_tensor("u_0", np.zeros(3))
    print("ready", flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def runs_store(standalone_store, monkeypatch):
    """The standalone store, emptied; this process reads writer group "sim" and writes in no run."""
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_RUN_ID", "SIMDASK_RUN_LEASE", "SIMDASK_RUN_WRITER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIMDASK_RUN_WRITERS", "1")
    monkeypatch.setenv("SIMDASK_KEY_PREFIXES_IN", "sim")
    with simdask.Client(standalone_store.address) as client:
        client.flush()
    return standalone_store


def _doomed(store, what: str, run_id: str) -> subprocess.Popen:
    """A writer that is ready (its step written, or nothing) and not yet killed; its heartbeat lasts 600 s."""
    env = {**os.environ, "SIMDASK_RUN_ID": run_id, "SIMDASK_KEY_PREFIX": "sim", "SIMDASK_RUN_LEASE": "600"}
    del env["SIMDASK_KEY_PREFIXES_IN"]
    proc = subprocess.Popen(
        [sys.executable, "-c", DOOMED, what, store.address], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline() == "ready\n"
    return proc


def test_a_writer_killed_after_its_first_step_fails_the_watch_at_its_next_poll(runs_store):
    writer = _doomed(runs_store, "write", "short")
    stream = simdask.watch("u_{step:d}", runs_store.address, timeout=30, interval=0.05)  # follows the running run
    writer.kill()  # not waited for: a zombie, dead all the same
    # long before the watch's 30 s and the writer's 600 s heartbeat: its process is gone from this host
    with pytest.raises(RunFailedError, match=rf"run 1 \('short'\).*writer 0 \(pid {writer.pid} on .*\) is gone"):
        next(stream)
    writer.wait()
    # a watch called after the writer died, within a lease of the run's beginning: that run, not the next one
    with pytest.raises(RunFailedError, match=r"run 1 \('short'\)"):
        next(simdask.watch("u_{step:d}", runs_store.address, timeout=30))


def test_a_watch_called_a_lease_after_a_failed_run_began_waits_for_the_next_run(runs_store, monkeypatch):
    writer = _doomed(runs_store, "write", "old")
    writer.kill()
    writer.wait()
    monkeypatch.setenv("SIMDASK_RUN_LEASE", "0.2")  # this reader's lease: run 1 is older than that
    time.sleep(0.3)
    with pytest.raises(simdask.WatchTimeoutError, match=r"no run of writer group 'sim' began .* within 0.2 s"):
        next(simdask.watch("u_{step:d}", runs_store.address, timeout=0.2, interval=0.05))


def test_a_run_whose_writer_died_before_writing_is_unknown_unless_its_launch_was_recorded(runs_store):
    writer = _doomed(runs_store, "idle", "silent")
    writer.kill()
    writer.wait()
    # nothing in the store says that run "silent" was ever meant to begin: the watch waits for it
    with pytest.raises(simdask.WatchTimeoutError, match=r"run 'silent' of writer group 'sim' did not begin"):
        next(simdask.watch("u_{step:d}", runs_store.address, run="silent", timeout=0.3, interval=0.05))


def test_an_experiment_launch_that_dies_before_writing_fails_the_watch_of_its_run(tmp_path, monkeypatch):
    from simdask.experiment import Experiment

    monkeypatch.setenv("SIMDASK_KEY_PREFIXES_IN", "sim")  # the watch reads writer group "sim"
    exp = Experiment("doomed", exp_path=tmp_path / "exp", launcher="local")
    try:
        store = exp.create_store()
        sim = exp.create_model("sim", sys.executable, ["-c", "import sys; sys.exit('diverged at step 0')"])
        sim.enable_key_prefixing()  # writer group "sim"
        exp.start(store)
        exp.start(sim)
        with pytest.raises(RunFailedError, match=rf"run '{sim.run_id}' of writer group 'sim' failed: the proc"):
            next(simdask.watch("u_{step:d}", store.address, run=sim.run_id, timeout=30, interval=0.05))
    finally:
        exp.stop()
