"""watch: steps written by a separate process are yielded as they complete, until the end-of-run marker."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import xarray as xr

import simdask

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
    from simdask.bridge.catalog import Catalog

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
