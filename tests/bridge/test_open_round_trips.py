"""Round trips of open_dataset, counted on real stores: the current-run lookup shares the first SCAN's pipeline."""

from __future__ import annotations

import numpy as np
import pytest

import simdask
from simdask.bridge import catalog
from simdask.transport.connection import Connection


@pytest.fixture
def sent(monkeypatch):
    """Every pipeline this process sends (one per round trip): the list of its command names."""
    pipelines: list[list[str]] = []
    send = Connection.send

    def counting(self, commands):
        pipelines.append([str(c[0]) for c in commands])
        return send(self, commands)

    monkeypatch.setattr(Connection, "send", counting)
    return pipelines


def _fill(client, steps: int) -> np.ndarray:
    data = np.arange(steps * 2 * 3 * 4, dtype=np.float64).reshape(steps, 2, 3, 4)
    for s in range(steps):
        for v, var in enumerate(("u", "w")):
            client.put_tensor(f"{var}.step{s}", data[s, v], dims=("y", "x"), coords={"time": 0.5 * s})
    return data


def test_an_open_of_a_known_prefix_sends_the_lookup_with_the_first_scan(standalone_store, monkeypatch, sent):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(catalog, "SCAN_COUNT", 4)  # several SCAN pages
    monkeypatch.setattr(catalog, "HEADER_BATCH", 5)  # several header pipelines
    monkeypatch.setattr(catalog, "_PREFIXES", {})  # this process has seen no prefix yet
    with simdask.Client(standalone_store.address) as client:
        client.flush()
        data = _fill(client, 20)
        opened = []
        for _ in range(3):
            sent.clear()
            ds = simdask.open_dataset("{var}.step{step:d}", client)
            scans = sum(p.count("SCAN") for p in sent)
            headers = sum(1 for p in sent if p[0] == "GETRANGE")
            opened.append((len(sent), scans, headers, sent[0]))  # before any data are read
            np.testing.assert_array_equal(ds.u.values, data[:, 0])
            np.testing.assert_array_equal(ds.time.values, 0.5 * np.arange(20))
    (first, scans, headers, lookup), *later = opened
    # 40 keys: several pages, several header batches (COUNT is a hint: with 14 keys a store sometimes answered
    # in one or two pages; 40 gave 6-8 pages and 4-6 header batches in 15 of 15 fresh stores)
    assert scans > 1 and headers > 1
    assert lookup == ["HGET"]  # the first open looks the run up on its own
    assert first == 1 + scans + headers
    for count, scans, headers, pipeline in later:  # then along with the first SCAN: one round trip fewer
        assert pipeline == ["HGET", "SCAN"]
        assert count == scans + headers


def test_an_open_after_a_new_run_began_scans_that_run(standalone_store, monkeypatch, sent):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_RUN_ID", "SIMDASK_RUN_WRITER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SIMDASK_RUN_WRITERS", "1")
    with simdask.Client(standalone_store.address) as flush:
        flush.flush()
    with (
        simdask.Client(standalone_store.address, key_prefix="sim") as writer,
        simdask.Client(standalone_store.address, key_prefixes_in=["sim"]) as reader,
    ):
        writer.put_tensor("u.step0", np.zeros(3))  # plain keys: the group has no run yet
        assert simdask.open_dataset("u.step{step:d}", reader).u.shape == (1, 3)
        writer.begin_run()
        for s in range(2):
            writer.put_tensor(f"u.step{s}", np.full(3, s + 1.0))
        sent.clear()
        ds = simdask.open_dataset("u.step{step:d}", reader)  # scanned the plain keys with the lookup: again
        assert [p for p in sent if "SCAN" in p] == [["HGET", "SCAN"], ["SCAN"]]
        np.testing.assert_array_equal(ds.u.values, [[1.0] * 3, [2.0] * 3])
        sent.clear()
        again = simdask.open_dataset("u.step{step:d}", reader)  # the run's prefix now known
        assert [p for p in sent if "SCAN" in p] == [["HGET", "SCAN"]]
        np.testing.assert_array_equal(again.u.values, ds.u.values)
        writer.end_run()


def test_a_cluster_open_looks_the_run_up_first(cluster_store, monkeypatch, sent):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN", "SIMDASK_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Client(cluster_store.address) as client:
        client.flush()
        data = _fill(client, 3)
        for _ in range(2):
            sent.clear()
            ds = simdask.open_dataset("{var}.step{step:d}", client)
            assert ["HGET"] in sent and all(p != ["HGET", "SCAN"] for p in sent)  # SCANs go to every shard
            np.testing.assert_array_equal(ds.w.values, data[:, 1])
