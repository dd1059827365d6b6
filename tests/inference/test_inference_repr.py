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
        deadline = time.monotonic() + 10  # the loop records its answer in the round trip after the answer itself
        while "script:ops" not in (html := server._repr_html_()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "&lt;shown&gt;-0" in html and "&lt;shown&gt;-1" in html and "<shown>" not in html
        assert html.count(">running</b>") == 2
        assert "script:ops (cpu): 1" in html and html.count("nothing yet") == 1  # the loop that answered, the other
        workers = dask_client.scheduler_info()["workers"]
        assert sum(address in html for address in workers) == 2  # each loop's worker
    assert "not serving" in server._repr_html_()
