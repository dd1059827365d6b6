"""SmartRedis's C API: ensemble key prefixes from SSKEYOUT/SSKEYIN and the use_*_ensemble_prefix switches."""

from __future__ import annotations

import numpy as np
from simdask_tests_native import run_program, store_keys

import simdask


def test_prefix_switches_per_kind(sr_c, sr_env, sr_any_store):
    """Writes under SSKEYOUT, reads from SSKEYIN's source, each kind switched off alone; SmartRedis's key layout."""
    address = sr_any_store.address
    with simdask.Client(address) as client:
        client.put_tensor("other.ot", np.array([7.0, 8.0]))
        run_program([sr_c.tests, "prefixes"], sr_env(sr_any_store, SSKEYOUT="writer", SSKEYIN="writer,other"))
        keys = set(store_keys(address, "*"))
        expected = {"writer.pt", "bare", "writer.{pds}.meta", "writer.{pds}.u", "{pds}.meta", "writer.plist", "plist"}
        assert expected <= keys
        assert "simdask:model:{writer.pm}" in keys
        r = client.redis()
        assert [e.decode() for e in r.lrange("writer.plist", 0, -1)] == ["writer.{pds}"]
        assert [e.decode() for e in r.lrange("plist", 0, -1)] == ["{pds}"]


def test_reads_unprefixed_without_sskeyin(sr_c, sr_env, sr_any_store):
    """With SSKEYOUT but no SSKEYIN, reads use no prefix (SmartRedis's rule): a driver's steering tensor is found."""
    with simdask.Client(sr_any_store.address) as client:
        client.put_tensor("steer", np.array([3.0, 9.0]))
    run_program([sr_c.tests, "read_unprefixed"], sr_env(sr_any_store, SSKEYOUT="writer"))
