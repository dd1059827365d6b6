"""Reads take turns across a machine's processes and threads, per store address (simdask/bridge/turns.py)."""

from __future__ import annotations

import fcntl
import os
import signal
import stat
import threading

import numpy as np
import pytest

import simdask
from simdask.bridge import turns
from simdask.bridge.turns import lock_path, machine_turn

WAIT_S = 10.0  # bound on every wait here; nothing is timed


def _taken_elsewhere(address: str) -> bool:
    """Whether another process holds ``address``'s turn (asked from a forked child, without waiting)."""
    pid = os.fork()
    if pid == 0:
        signal.alarm(int(WAIT_S))
        fd = os.open(lock_path(), os.O_RDWR)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, turns._byte(address))
        except OSError:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (0, 1), code
    return code == 1


def test_a_turn_excludes_other_processes_for_its_store_only():
    with machine_turn("unix:///tmp/store-a.sock"):
        assert stat.S_IMODE(os.stat(lock_path()).st_mode) == 0o600
        assert _taken_elsewhere("unix:///tmp/store-a.sock")
        assert not _taken_elsewhere("unix:///tmp/store-b.sock")
    assert not _taken_elsewhere("unix:///tmp/store-a.sock")


def test_threads_take_turns_and_a_forked_child_is_not_blocked_by_a_thread_lock():
    entered = threading.Event()

    def other() -> None:
        with machine_turn("tcp://127.0.0.1:1"):
            entered.set()

    with machine_turn("tcp://127.0.0.1:1"):
        thread = threading.Thread(target=other)
        thread.start()
        assert not entered.wait(0.2)  # waits for this thread's turn to end
        pid = os.fork()  # this thread holds the turn: the child's threads must still get one of another store
        if pid == 0:
            signal.alarm(int(WAIT_S))
            with machine_turn("tcp://127.0.0.1:2"):
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    assert entered.wait(WAIT_S)
    thread.join(WAIT_S)


def _holder(address: str) -> int:
    """A forked process that takes ``address``'s turn and keeps it until killed; its pid, once it holds it."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        signal.alarm(int(WAIT_S) * 3)
        with machine_turn(address):
            os.write(ready_w, b"x")
            signal.pause()
        os._exit(0)
    try:
        assert os.read(ready_r, 1) == b"x"
    finally:
        os.close(ready_r)
        os.close(ready_w)
    return pid


def test_a_killed_holder_releases_its_turn():
    pid = _holder("tcp://127.0.0.1:3")
    assert _taken_elsewhere("tcp://127.0.0.1:3")
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert not _taken_elsewhere("tcp://127.0.0.1:3")


def test_reads_go_on_when_the_lock_file_cannot_be_opened(client, monkeypatch, tmp_path):
    monkeypatch.setattr(turns, "lock_path", lambda: str(tmp_path / "missing" / "reads.lock"))
    monkeypatch.setattr(turns, "_FILES", {})
    data = np.arange(12.0).reshape(3, 4)
    for s in range(3):
        client.put_tensor(f"t.{s}", data[s])
    np.testing.assert_array_equal(simdask.open_dataarray("t.{step:d}", client).values, data)
    assert turns._FILES == {os.getpid(): None}


@pytest.mark.parametrize("order", ["C", "F"])
def test_a_chunk_read_into_one_buffer_equals_per_key_reads(client, order):
    steps = [np.asarray(np.random.default_rng(s).random((300, 200)), order=order) for s in range(6)]  # 480 kB
    for s, step in enumerate(steps):
        client.put_tensor(f"b.{s}", step)
    grouped = simdask.open_dataarray("b.{step:d}", client)
    assert grouped.data.numblocks[0] == 1  # one chunk, read in rounds (ROUND_BYTES) into one array
    per_key = [client.get_tensor(f"b.{s}") for s in range(6)]
    row_major = [t.T if order == "F" else t for t in per_key]  # an F-ordered tensor opens as its transpose
    np.testing.assert_array_equal(grouped.values, np.stack(row_major))


def test_a_holder_that_never_lets_go_delays_a_read_by_the_patience_only():
    pid = _holder("tcp://127.0.0.1:5")  # as a stopped holder: it keeps the turn until killed
    try:
        for patience in (0.2, WAIT_S * 10):  # the second read waits not at all: this process gave up turns
            entered = threading.Event()

            def read(patience: float = patience, entered: threading.Event = entered) -> None:
                with machine_turn("tcp://127.0.0.1:5", patience=patience):
                    entered.set()

            thread = threading.Thread(target=read, daemon=True)
            thread.start()
            assert entered.wait(WAIT_S)  # without a turn, after the patience, not when the holder ends
            thread.join(WAIT_S)
        assert _taken_elsewhere("tcp://127.0.0.1:5")  # it was never the holder's to release
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        turns._GIVEN_UP.clear()
