"""How a Store shows itself in a terminal (repr) and in Jupyter (_repr_html_): state, where, what it holds."""

from __future__ import annotations

import re

import numpy as np

import simdask
from simdask._html import guarded


def test_a_store_shows_its_state_from_start_to_stop(tmp_path):
    store = simdask.Store(run_dir=tmp_path / "run")
    assert "Not started" in repr(store) and "Not started" in store._repr_html_()
    with store:
        with simdask.Client(store.address) as client:
            client.put_tensors({f"t{i}": np.zeros(1000) for i in range(3)})
        text, html = repr(store), store._repr_html_()
        assert text.startswith(f"<simdask.Store standalone {store.address} Running")
        assert str(tmp_path / "run") in text and str(tmp_path / "run") in html
        assert "Running" in html and store.address in html and f">{store.servers[0].pid}</td>" in html
        assert re.search(r"[0-9.]+ MiB in 3 keys", html)  # memory and keys, asked from the server
        assert store.password and store.password not in text + html
    assert "Stopped" in repr(store) and "Stopped" in store._repr_html_()
    assert "Cancelled" not in store._repr_html_() and "-15" not in store._repr_html_()


def test_a_store_that_went_away_says_so():
    with simdask.Store() as store:
        store.servers[0].kill()
        message = f"Gone: the server at {store.address} exited"
        assert message in repr(store) and message in store._repr_html_()


def test_a_cluster_shows_each_shard():
    with simdask.Store("cluster") as store:
        html = store._repr_html_()
        assert "cluster, 3 shards" in html and html.count(" in 0 keys") == 3 + 1  # three shards and the total
        assert all(str(s.address) in html for s in store.servers)


def test_a_store_with_serving_loops_shows_them(tmp_path):
    with simdask.Store(serve=1, run_dir=tmp_path / "run") as store:
        assert "1 serving loops" in repr(store)
        html = store._repr_html_()
        assert f"1 (pid {store.serving.pid}, running; log {tmp_path / 'run' / 'serve.log'})" in html


def test_what_comes_from_the_user_is_escaped(tmp_path):
    with simdask.Store(run_dir=tmp_path / "<b>&run") as store:
        html = store._repr_html_()
        assert "<b>&run" not in html and "&lt;b&gt;&amp;run" in html


def test_a_repr_that_fails_says_why_instead_of_raising():
    def broken() -> str:
        raise OSError("no <such> thing")

    assert guarded(broken, "simdask.Store") == (
        "<pre>simdask.Store: cannot be shown (OSError: no &lt;such&gt; thing)</pre>"
    )
