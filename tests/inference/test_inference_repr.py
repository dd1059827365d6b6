"""How an InferenceServer shows itself: its loops, where they run, what each served."""

from __future__ import annotations

import time

import numpy as np

import simdask


def test_an_inference_server_shows_its_loops_and_what_they_served(standalone_store, dask_client, monkeypatch):
    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN"):
        monkeypatch.delenv(name, raising=False)
    server = simdask.InferenceServer(standalone_store.address, dask_client, name="<shown>")
    assert repr(server) == f"<simdask.InferenceServer '<shown>' not serving, store {standalone_store.address}>"
    assert "not serving" in server._repr_html_()
    with server:
        client = simdask.Client(standalone_store.address)
        client.set_script("ops", "def double(x):\n    return x * 2\n")
        client.put_tensor("x", np.arange(3.0))
        client.run_script("ops", "double", ["x"], ["y"])
        assert repr(server).startswith("<simdask.InferenceServer '<shown>' 2 loops (2 pending)")
        deadline = time.monotonic() + 30  # the loop records its answer in the round trip after the answer itself;
        # the loop that served nothing may still wait for its worker (the GPU a loop of an earlier test held)
        while time.monotonic() < deadline:
            html = server._repr_html_()
            if "script:ops" in html and html.count(">running</b>") == 2:
                break
            time.sleep(0.05)
        assert "&lt;shown&gt;-0" in html and "&lt;shown&gt;-1" in html and "<shown>" not in html
        assert html.count(">running</b>") == 2, html
        assert "script:ops (cpu): 1" in html and html.count("nothing yet") == 1  # the loop that answered, the other
        workers = dask_client.scheduler_info()["workers"]
        assert sum(address in html for address in workers) == 2  # each loop's worker
    assert "not serving" in server._repr_html_()


def _hold_the_gpu(started: str, release: str) -> bool:
    from distributed import Event

    Event(started).set()
    return Event(release).wait(timeout=60)


def test_a_loop_not_yet_on_a_worker_shows_that_it_waits(standalone_store, dask_client, monkeypatch):
    from distributed import Event

    for name in ("SIMDASK_KEY_PREFIX", "SIMDASK_KEY_PREFIXES_IN"):
        monkeypatch.delenv(name, raising=False)
    started = Event("simdask-test-gpu-held", client=dask_client)
    release = Event("simdask-test-release-the-gpu", client=dask_client)
    holder = dask_client.submit(_hold_the_gpu, started.name, release.name, resources={"GPU": 1}, pure=False)
    assert started.wait(timeout=30), "the task holding the GPU never started"
    deadline = time.monotonic() + 30
    server = simdask.InferenceServer(standalone_store.address, dask_client, name="held")
    try:
        with server:
            while (html := server._repr_html_()).count(">running</b>") != 1:
                assert time.monotonic() < deadline, html
                time.sleep(0.05)
            assert html.count(">waiting on its worker</b>") == 1  # the GPU loop: its worker's one GPU is held
            release.set()
            while server._repr_html_().count(">running</b>") != 2:
                assert time.monotonic() < deadline, server._repr_html_()
                time.sleep(0.05)
    finally:
        release.set()
        assert holder.result(timeout=30) is True
        started.clear()
        release.clear()
