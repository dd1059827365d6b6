"""The C client when the store misbehaves (simdask.h, "Waiting and retrying"; docs/protocol.md, "Timeouts and
limits"): it stops answering, restarts, goes away for a moment, or a connection drops right after the store
answered; and timeouts given through the environment.

The C side is ``c_faults.c``; real stores from ``simdask.Store``, frozen with SIGSTOP.
"""

from __future__ import annotations

import re
import select
import socket
import threading
import time

import pytest
from simdask_tests_native import (
    Interactive,
    assert_timed_out,
    lines_while_frozen,
    native_env,
    run_program,
    store_keys,
    timings,
)

from simdask import Client, Store
from simdask.protocol.requests import drop_loops, mark_loops_alive

MARGIN_MS = 1500  # what a call may take beyond its deadline


def test_every_call_returns_by_its_deadline_when_the_store_stops_answering(native_c):
    """SIGSTOP: put, get, poll (each check is one reply), run_model (its own 1.5 s, though the client's I/O timeout
    is 60 s) and sd_client_new (connect, then one reply) return SD_ERR_TIMEOUT by their deadlines; after SIGCONT the
    same clients work again."""
    deadlines = {"put": 1000, "get": 1000, "poll": 1000, "run_model": 1500, "client_new": 1000 + 1000}
    with Store() as store:
        env = native_env(store.address, SIMDASK_IO_TIMEOUT="1", SIMDASK_CONNECT_TIMEOUT="1")
        lines = lines_while_frozen([native_c.c_faults, "frozen"], env, store)
    assert_timed_out(lines, deadlines, "SD_ERR_TIMEOUT", MARGIN_MS)


def _restart(server, down_s: float = 0.0) -> None:
    """Stop one server and start it again on the same port (its data back from its append-only file)."""
    server.stop()
    time.sleep(down_s)
    server.start()
    server.wait_ready(time.monotonic() + 30)


def test_no_call_fails_across_a_restart_or_a_short_outage(native_c):
    """Plain and chunked puts and gets, a dataset and an append per round: after a restart (stale pooled
    connections) and while the store is down for ~0.5 s (connections refused, then resent), every call succeeds
    and the list has exactly one entry per round."""
    with Store(persist=True) as store:
        server = store.servers[0]
        prog = Interactive([native_c.c_faults, "restart"], native_env(store.address))
        prog.expect("RESTART")
        _restart(server)
        prog.go()
        prog.expect("OUTAGE")
        server.stop()
        prog.go()
        time.sleep(0.5)
        server.start()
        server.wait_ready(time.monotonic() + 30)
        prog.finish()
        with Client(store.address) as client:
            assert client.get_list_length("rs_list") == 3
            assert len(store_keys(store.address, "simdask:chunk:{rs_big}:*")) == 3  # one generation left


class DroppingProxy:
    """A TCP proxy in front of a store. Armed, it passes the next data from the client that contain ``pattern``
    to the store, reads the store's answer itself and closes both connections: the store did the command, the
    client never hears so. Armed with ``answers``, it passes that many bytes of answers on first, then closes: the
    client has its answers, and finds the connection gone when it sends the next command."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._armed: bytes | None = None
        self._answers = 0
        self._lock = threading.Lock()
        self.dropped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, pattern: bytes = b"", answers: int = 0) -> None:
        self.dropped.clear()
        with self._lock:
            self._armed = pattern
            self._answers = answers

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _take(self, data: bytes) -> int | None:
        """None, or the bytes of answers to pass on before closing (0: none) when data trigger the drop."""
        with self._lock:
            if self._armed is not None and self._armed in data:
                self._armed = None
                return self._answers
        return None

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        answers_left: int | None = None  # armed with answers: close once they are passed on
        try:
            while True:
                ready, _, _ = select.select([client, server], [], [])
                if client in ready:
                    data = client.recv(1 << 16)
                    if not data:
                        return
                    server.sendall(data)
                    taken = self._take(data)
                    if taken == 0:
                        server.settimeout(10)
                        server.recv(1 << 16)  # the answer: the store did it
                        self.dropped.set()
                        return
                    if taken:
                        answers_left = taken
                if server in ready:
                    data = server.recv(1 << 16)
                    if not data:
                        return
                    last = answers_left is not None and len(data) >= answers_left
                    if last:  # the last answers and the FIN in one segment: the client sees both at once
                        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                    client.sendall(data)
                    if last:
                        client.shutdown(socket.SHUT_WR)
                        self.dropped.set()
                        return
                    if answers_left is not None:
                        answers_left -= len(data)
        except OSError:
            return
        finally:
            client.close()
            server.close()


def test_a_connection_dropped_after_the_store_answered(native_c, store_client, c_store):
    """A GET and a plain put are sent again; an append and a run request are not (SD_ERR_CONNECTION naming the
    key; done once, not twice); a chunked put whose head transaction went through reports SD_ERR_CONNECTION and
    leaves the new tensor whole, with one generation of chunks; one whose connection is gone after the chunks,
    before the head, is done again whole."""
    proxy = DroppingProxy(c_store.address)
    r = store_client.redis()
    mark_loops_alive(store_client.session, ["dropped-test"], 600_000)  # a serving loop is alive: the request is sent
    try:
        # the proxy's address has no credentials file: the password is given
        prog = Interactive([native_c.c_faults, "dropped"], native_env(proxy.address, SIMDASK_PASSWORD=c_store.password))
        lines: list[str] = []
        steps = (
            ("get", b"", 0),
            ("put", b"", 0),
            ("append", b"", 0),
            ("run", b"simdask:loops:", 0),
            ("head", b"MULTI", 0),
            ("between", b"simdask:chunk:", 3 * len(b"+OK\r\n")),
        )  # the 3 chunk SETs' answers
        for step, pattern, answers in steps:
            lines += prog.until(f"ARM {step}", timeout=60)
            proxy.arm(pattern, answers)
            prog.go()
        lines += prog.until("DONE", timeout=60)
        assert proxy.dropped.is_set()
        prog.go()
        prog.finish()
    finally:
        proxy.close()
        drop_loops(store_client.session, ["dropped-test"])
    status, ms = timings(lines)["run_model"]
    assert status == "SD_ERR_CONNECTION" and ms < 5000  # not the 30 s of its timeout
    assert r.xlen("simdask:requests") == 1  # sent once
    assert r.llen("px_list") == 1
    assert len(store_keys(c_store.address, "simdask:chunk:{px_big}:*")) == 3
    assert len(store_keys(c_store.address, "simdask:chunk:{px_big2}:*")) == 3


@pytest.mark.parametrize("var", ["SIMDASK_CONNECT_TIMEOUT", "SIMDASK_IO_TIMEOUT", "SIMDASK_RUN_TIMEOUT"])
@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", "1e10", "5s"])
def test_an_unusable_timeout_variable_is_named(native_c, c_store, var, value):
    """SD_ERR_ARG naming the variable; an explicit option for it wins over the variable."""
    proc = run_program([native_c.c_faults, "env_bad", var], native_env(c_store.address, **{var: value}))
    assert var in proc.stdout


@pytest.mark.parametrize("var", ["SIMDASK_CONNECT_TIMEOUT", "SIMDASK_RUN_TIMEOUT"])
def test_zero_is_refused_as_a_connect_or_run_timeout(native_c, c_store, var):
    """Only the I/O timeout takes 0 (no limit)."""
    run_program([native_c.c_faults, "env_bad", var], native_env(c_store.address, **{var: "0"}))


def test_timeout_variables_are_seconds(native_c):
    """sd_options_init reads them (decimals allowed, rounded up to whole ms; SIMDASK_IO_TIMEOUT=0: no limit)."""
    env = native_env(SIMDASK_CONNECT_TIMEOUT="2.5", SIMDASK_IO_TIMEOUT=" 0 ", SIMDASK_RUN_TIMEOUT="0.0001")
    proc = run_program([native_c.c_tests, "defaults"], env)
    given = dict(re.findall(r"^(\w+) (-?\d+)$", proc.stdout, flags=re.M))
    assert given == {"connect_timeout_ms": "2500", "io_timeout_ms": "0", "run_timeout_ms": "1"}
