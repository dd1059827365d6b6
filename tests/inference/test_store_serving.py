"""A store that runs its own serving loops (``simdask.Store(serve=N)``, ``simdask store start --serve N``): it
answers run_model without Dask, and its loop process ends with it however the store ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
import torch
from inference_helpers import reference

import simdask


def gone(pid: int, timeout: float = 30) -> bool:
    """Whether process ``pid`` ends (or is a zombie) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def simdask_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simdask", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_a_store_with_its_own_loops_answers_and_stops_them(mlp, tmp_path):
    store = simdask.Store(serve=2, run_dir=tmp_path / "store").start()
    try:
        pid = store.serving.pid
        assert store.password and store.password not in " ".join(psutil.Process(pid).cmdline())
        client = simdask.Client(store.address)
        assert client.serving_loops() == store.serving.consumers  # ready: the loops hold their leases
        client.set_model("mlp", torch.jit.script(mlp), "TORCH")
        x = np.random.default_rng(0).random((3, 64), dtype=np.float32)
        client.put_tensor("x", x)
        client.run_model("mlp", ["x"], ["y"], timeout=60)
        np.testing.assert_allclose(client.get_tensor("y"), reference(mlp, x), rtol=1e-5, atol=1e-6)
        with pytest.raises(simdask.ModelError, match="model 'nothing_here' does not exist in the store") as info:
            client.run_model("nothing_here", ["x"], ["y"], timeout=30)
        assert not isinstance(info.value, simdask.ModelTimeoutError)
    finally:
        store.stop()
    assert gone(pid, timeout=0)
    assert "loaded model 'mlp'" in (tmp_path / "store" / "serve.log").read_text()


def test_the_command_line_starts_and_stops_the_loops_with_the_store(mlp, tmp_path):
    run_dir = str(tmp_path / "store")
    started = simdask_cli("store", "start", "--serve", "1", "--run-dir", run_dir)
    assert started.returncode == 0, started.stderr
    try:
        store = simdask.Store.from_run_dir(run_dir)
        assert store.serving is not None and store.serving.is_alive()
        status = simdask_cli("store", "status", "--run-dir", run_dir)
        assert f"serving loops: 1  pid {store.serving.pid}  running" in status.stdout
        client = simdask.Client(store.address)
        client.set_model("mlp", torch.jit.script(mlp), "TORCH")
        client.put_tensor("x", np.zeros((1, 64), np.float32))
        client.run_model("mlp", ["x"], ["y"], timeout=60)
    finally:
        stopped = simdask_cli("store", "stop", "--run-dir", run_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert gone(store.serving.pid, timeout=0)


def test_the_loops_end_when_the_store_server_dies(tmp_path):
    store = simdask.Store(serve=1, run_dir=tmp_path / "store").start()
    try:
        pid = store.serving.pid
        store.servers[0].kill()
        assert gone(pid), "the serving loops outlived their store"
        assert "ended (the store's server): stopping" in (tmp_path / "store" / "serve.log").read_text()
    finally:
        store.stop()


def test_the_watchdog_stops_the_loops_when_the_owner_dies(tmp_path):
    owner = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, simdask\n"
            "store = simdask.Store(serve=1, run_dir=sys.argv[1]).start()\n"
            "print(store.serving.pid, flush=True)\n"
            "time.sleep(600)\n",
            str(tmp_path / "store"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        pid = int(owner.stdout.readline())
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        assert gone(pid), "the serving loops outlived the store's owner"
    finally:
        owner.kill()
        owner.wait()


def test_a_client_in_no_run_is_served_and_reads_its_lists_while_a_run_is_current(mlp, tmp_path, monkeypatch):
    """A run of the group is current (an MPI job wrote it): a client in no run writes plain keys, and its
    run_model inputs and list reads, named in that run, find them (docs/protocol.md "Runs", fallbacks)."""
    for name in ("SIMDASK_RUN_ID", "OMPI_COMM_WORLD_SIZE", "SLURM_STEP_ID", "SIMDASK_KEY_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Store(serve=1, run_dir=tmp_path / "store") as store:
        writer = simdask.Client(store.address)
        writer.begin_run("mpi-job")
        writer.put_tensor("u", np.zeros(2))
        writer.end_run()
        plain = simdask.Client(store.address)
        plain.set_model("mlp", torch.jit.script(mlp), "TORCH")
        x = np.random.default_rng(1).random((2, 64), dtype=np.float32)
        plain.put_tensor("x", x)
        plain.run_model("mlp", ["x"], ["y"], timeout=60)
        np.testing.assert_allclose(plain.get_tensor("y"), reference(mlp, x), rtol=1e-5, atol=1e-6)
        assert sorted(plain.keys("[xy]")) == ["x", "y"]  # plain keys, none in the run
        sample = simdask.Dataset("sample")
        sample.add_tensor("x", x)
        plain.put_dataset(sample)
        plain.append_to_list("samples", sample)
        assert plain.get_list_length("samples") == 1
        assert plain.poll_list_length("samples", 1, 10, 2)
        assert [d.get_name() for d in plain.get_datasets_from_list("samples")] == ["sample"]
        plain.copy_list("samples", "copied")
        assert plain.get_list_length("copied") == 1
        plain.rename_list("copied", "renamed")
        assert (plain.get_list_length("copied"), plain.get_list_length("renamed")) == (0, 1)


class Doubled(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return 2 * self.inner(t)


def test_a_model_stored_again_after_a_flush_is_the_one_that_runs(mlp, tmp_path):
    """Versions start again at 1 after a flush: the loop tells the new model from the one it loaded before."""
    with simdask.Store(serve=1, run_dir=tmp_path / "store") as store:
        client = simdask.Client(store.address)
        x = np.random.default_rng(2).random((2, 64), dtype=np.float32)
        client.set_model("m", torch.jit.script(mlp), "TORCH")
        client.put_tensor("x", x)
        client.run_model("m", ["x"], ["y"], timeout=60)
        np.testing.assert_allclose(client.get_tensor("y"), reference(mlp, x), rtol=1e-5, atol=1e-6)
        client.flush()
        deadline = time.monotonic() + 30  # the loop holds its lease again within a quarter lease
        while not client.serving_loops() and time.monotonic() < deadline:
            time.sleep(0.1)
        client.set_model("m", torch.jit.script(Doubled(mlp)), "TORCH")
        assert client.get_model_spec("m").version == 1
        client.put_tensor("x", x)
        client.run_model("m", ["x"], ["y"], timeout=60)
        np.testing.assert_allclose(client.get_tensor("y"), 2 * reference(mlp, x), rtol=1e-5, atol=1e-6)
