"""How a Client and its runs show themselves in a terminal (repr) and in Jupyter (_repr_html_)."""

from __future__ import annotations

import numpy as np

import simdask
from simdask.protocol.runs import RunList


def test_a_client_shows_where_it_connects_and_its_prefixes(client, store):
    text, html = repr(client), client._repr_html_()
    assert text == f"<simdask.Client {store.address}>"
    assert store.address in html and ("cluster" if store.kind == "cluster" else "single server") in html
    assert "no prefix" in html and "writes in run" not in html
    assert store.password not in text + html


def test_a_client_shows_the_run_it_writes_in(standalone_store, monkeypatch):
    for name in ("SIMDASK_KEY_PREFIXES_IN", "SIMDASK_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    with simdask.Client(standalone_store.address, key_prefix="sim", key_prefixes_in=["<i>in"]) as client:
        number = client.begin_run("case-7")
        where = standalone_store.address
        assert repr(client) == f"<simdask.Client {where} writes under 'sim' (run {number}), reads '<i>in'>"
        html = client._repr_html_()
        assert f"{number} (&#x27;case-7&#x27;, writer 0 of 1)" in html
        assert "<i>in" not in html and "&lt;i&gt;in" in html  # escaped
        client.end_run()


def test_runs_show_as_a_table(standalone_store, monkeypatch):
    monkeypatch.delenv("SIMDASK_RUN_ID", raising=False)
    with simdask.Client(standalone_store.address, key_prefix="reprs") as client:
        for case in ("first", "<second>"):
            client.begin_run(case)
            client.put_tensor("u", np.zeros(3))
            client.end_run()
        client.begin_run("third")
        runs = client.runs("reprs")
        assert isinstance(runs, RunList) and [r.run_id for r in runs][-3:] == ["first", "<second>", "third"]
        html = runs._repr_html_()
        assert html.startswith('<table class="simdask-runs"') and "writer group &#x27;reprs&#x27;" in html
        assert html.count("<tr>") == 1 + len(runs)  # the head and one row per run
        assert "&lt;second&gt;" in html and "<second>" not in html
        assert ">ended</b>" in html and ">running</b>" in html
        one = runs[-1]._repr_html_()
        assert f"run {runs[-1].number} of writer group" in one and one.count("<tr>") == 2
        client.end_run()
