"""sd_run_model against a store's own serving loops (``simdask.Store(serve=1)``), and against a store that has
none: an answer at once that says what to start, not a wait for the timeout."""

from __future__ import annotations

import psutil
import pytest
from simdask_tests_native import HERE, SAN_FLAGS, _pkg_config, native_env, run, run_program

import simdask
from simdask.protocol.requests import live_loops

torch = pytest.importorskip("torch", reason="storing a TorchScript model needs torch (pip install 'simdask[torch]')")


@pytest.fixture(scope="module")
def program(native_c, tmp_path_factory):
    """c_store_serving.c, compiled against the installed libsimdask through pkg-config."""
    exe = tmp_path_factory.mktemp("store-serving") / "c_store_serving"
    cflags = _pkg_config(native_c.env, "--cflags", "simdask")
    libs = _pkg_config(native_c.env, "--libs", "simdask")
    rpath = f"-Wl,-rpath,{native_c.prefix / 'lib'}"
    run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", *SAN_FLAGS, *cflags, HERE / "c_store_serving.c", "-o", exe,
         *libs, rpath], env=native_c.env)  # fmt: skip
    return exe


class Double(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x


def fields(stdout: str, label: str) -> tuple[str, str]:
    """(status, message) of the program's line ``<label> <status> <ms> <message>``."""
    line = next(line for line in stdout.splitlines() if line.startswith(label + " "))
    _, status, _ms, message = line.split(" ", 3)
    return status, message


def test_a_store_with_its_own_loop_answers_c_and_stops_it(program, tmp_path):
    store = simdask.Store(serve=1, run_dir=tmp_path / "store").start()
    try:
        assert store.serving is not None
        pid = store.serving.pid
        client = simdask.Client(store.address)
        client.set_model("double", torch.jit.script(Double()), "TORCH")
        proc = run_program([program, "run"], native_env(store.address))
        assert "Y 2 4 6 8" in proc.stdout
        status, message = fields(proc.stdout, "UNKNOWN")
        assert status == "SD_ERR_MODEL" and "model 'no_such_model' does not exist" in message
        assert live_loops(client.session) == [f"{store.serving.name}-0"]
        client.close()
    finally:
        store.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert "stopped; served 1 requests" in (tmp_path / "store" / "serve.log").read_text()


def test_no_serving_loop_is_an_answer_naming_what_to_start(program, store_client, c_store):
    proc = run_program([program, "none"], native_env(c_store.address))
    status, message = fields(proc.stdout, "NONE")
    assert status == "SD_ERR_MODEL"
    assert "model 'double'" in message and f"no inference service is serving the store at {c_store.address}" in message
    assert "`simdask serve`" in message and "simdask.Store(serve=N)" in message
    assert not store_client.redis().exists("simdask:requests")  # nothing was queued
