"""Serving loops on a real Dask cluster against an attacker and a faulty machine: hostile stored models
(nothing is unpickled, nothing of a model runs beyond tensor maths), poisoned requests and records (the
loops answer ERR and keep serving), and stopping (loops really stop; the consumer group does not grow)."""

from __future__ import annotations

import io
import json
import os
import threading
import time

import numpy as np
import pytest
from fault_helpers import MARGIN_S, held_requests, tensor_blob, within

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

import hostile_models as hostile  # noqa: E402

import simdask  # noqa: E402
from simdask.locality import node_name  # noqa: E402
from simdask.protocol import ModelSpec, tensors  # noqa: E402
from simdask.protocol.models import stored_key, write_stored  # noqa: E402
from simdask.protocol.requests import node_stream  # noqa: E402

DEEP = 50_000
SPIN = """
def spin(x, n):
    y = x
    for i in range(int(n.item())):
        y = y + 0.0
    return y
"""


@pytest.fixture
def serving(own_store, dask_client):
    """A client on a store of its own, an inference server (two loops, one per worker) serving it, and
    redis-py on the same store to write what simdask never would."""
    client = simdask.Client(own_store.address)
    server = simdask.InferenceServer(own_store.address, dask_client, claim_idle=1).start()
    raw = client.redis()
    client.set_model("tiny", torch.jit.script(hostile.Tiny()), "TORCH")
    client.put_tensor("x", np.zeros(3, np.float32))
    yield client, server, raw
    raw.close()
    try:
        server.stop(timeout=10)
    except simdask.ServiceStateError:
        pass


def still_serving(client: simdask.Client, server: simdask.InferenceServer) -> None:
    """Every loop of the server is alive, and a normal request is answered."""
    assert set(server.status().values()) == {"pending"}, server.status()  # "pending": the task still runs
    client.run_model("tiny", ["x"], ["y"], timeout=30)
    np.testing.assert_array_equal(client.get_tensor("y"), np.ones(3, np.float32))


def store_record(client: simdask.Client, name: str, blob: bytes, attrs: dict) -> None:
    """A model record as any account that can write to the store could leave it."""
    session = client.session
    tensors.put_tensors(
        session, [tensors.encode_tensor(session, stored_key("model", name), np.frombuffer(blob, np.uint8), attrs=attrs)]
    )


def spec(name: str, fmt: str, backend: str = "TORCH") -> ModelSpec:
    return ModelSpec(kind="model", name=name, backend=backend, format=fmt)  # type: ignore[arg-type]


# -- 1. nothing from the store runs -----------------------------------------------------------------


def test_hostile_models_are_refused_and_run_nothing(serving, tmp_path):
    client, server, _ = serving
    marker = str(tmp_path / "marker")
    # each payload is live: loaded the way a careless loader would, it creates its file
    probe = str(tmp_path / "probe")
    torch.jit.load(io.BytesIO(hostile.torchscript_writing_on_load(probe)))
    assert os.path.exists(probe)
    os.remove(probe)
    try:
        torch.export.load(io.BytesIO(hostile.pt2_with_pickle(probe)))
    except Exception:
        pass
    assert os.path.exists(probe)

    with pytest.raises(simdask.ModelError, match="torch.export programs .* refused.*TorchScript.*ONNX"):
        client.set_model("pt2", hostile.pt2_with_pickle(marker), "TORCH")
    cases = {
        "data_pkl": lambda: client.set_model("data_pkl", hostile.torchscript_with_pickle(marker, "data.pkl"), "TORCH"),
        "constants_pkl": lambda: client.set_model(
            "constants_pkl", hostile.torchscript_with_pickle(marker, "constants.pkl"), "TORCH"
        ),
        "setstate": lambda: client.set_model("setstate", hostile.torchscript_writing_on_load(marker), "TORCH"),
        "pt2_as_export": lambda: write_stored(
            client.session,
            "model",
            "pt2_as_export",
            hostile.pt2_with_pickle(marker),
            spec("pt2_as_export", "torch.export"),
        ),
        "pt2_as_torchscript": lambda: write_stored(
            client.session,
            "model",
            "pt2_as_torchscript",
            hostile.pt2_with_pickle(marker),
            spec("pt2_as_torchscript", "torchscript"),
        ),
        "pickle_as_torchscript": lambda: write_stored(
            client.session,
            "model",
            "pickle_as_torchscript",
            hostile.evil_pickle(marker),
            spec("pickle_as_torchscript", "torchscript"),
        ),
        "onnx_garbage": lambda: write_stored(
            client.session,
            "model",
            "onnx_garbage",
            b"\x08\x07\x12\x04evil" + hostile.evil_pickle(marker),
            spec("onnx_garbage", "onnx", "ONNX"),
        ),
    }
    for name, store_it in cases.items():
        store_it()
        with pytest.raises(simdask.ModelError, match=f"model '{name}'") as info:
            client.run_model(name, ["x"], ["y"], timeout=30)
        assert not isinstance(info.value, simdask.ModelTimeoutError), name
    scripts = {
        "writes": 'def f(x):\n    torch.save(x, "' + marker + '")\n    return x\n',
        "reads": 'def f(x):\n    return torch.from_file("/etc/hostname", False, 4, dtype=torch.uint8)\n',
        "escaped": 'def f(x):\n    getattr(torch, "s\\x61ve")(x, "' + marker + '")\n    return x\n',
    }
    for name, source in scripts.items():
        client.set_script(name, source)
        with pytest.raises(simdask.ModelError, match=f"script '{name}'.*(refused|reaches outside)"):
            client.run_script(name, "f", ["x"], ["y"], timeout=30)
    assert not os.path.exists(marker)
    still_serving(client, server)


def test_onnx_external_data_is_never_read(tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from simdask.inference.backends import load_runner

    (tmp_path / "secret.bin").write_bytes(b"SECRET!!")
    monkeypatch.chdir(tmp_path)  # onnxruntime would resolve the path against the working directory
    weight = TensorProto(name="W", data_type=TensorProto.UINT8, dims=[8], data_location=TensorProto.EXTERNAL)
    for key, value in (("location", "secret.bin"), ("length", "8")):
        weight.external_data.add(key=key, value=value)
    io_ = [helper.make_tensor_value_info(n, TensorProto.UINT8, [8]) for n in ("x", "y")]
    graph = helper.make_graph([helper.make_node("Add", ["x", "W"], ["y"])], "g", io_[:1], io_[1:], initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    with pytest.raises(simdask.ModelError, match="model 'leak' cannot be loaded.*(external|secret)"):
        load_runner(spec("leak", "onnx", "ONNX"), model.SerializeToString(), "leak")
    assert onnx is not None


# -- 2. no poisoned request or record stops a loop ---------------------------------------------------


def test_poisoned_requests_are_answered_err_and_the_loops_go_on(serving):
    client, server, raw = serving
    nested = "[" * DEEP + "]" * DEEP
    cases = {
        "deep inputs JSON": ({"model": "tiny", "inputs": nested, "outputs": "[]"}, "deeper than 64"),
        "deep outputs JSON": ({"model": "tiny", "inputs": '["x"]', "outputs": nested}, "deeper than 64"),
        "inputs not JSON": ({"model": "tiny", "inputs": "[x", "outputs": "[]"}, "not valid JSON"),
        "inputs not a list": ({"model": "tiny", "inputs": '{"a": 1}', "outputs": "[]"}, "malformed"),
        "no inputs": ({"model": "tiny", "outputs": "[]"}, "needs JSON 'inputs'"),
        "no model": ({"inputs": '["x"]', "outputs": '["y"]'}, "malformed"),
        "script without function": ({"script": "s", "inputs": '["x"]', "outputs": '["y"]'}, "malformed"),
        "inputs not UTF-8": ({"model": "tiny", "inputs": b'["\xff"]', "outputs": "[]"}, "not UTF-8"),
        "model name not UTF-8": ({"model": b"\xfe\xff", "inputs": '["x"]', "outputs": "[]"}, "not UTF-8"),
        "empty input key": ({"model": "tiny", "inputs": '[""]', "outputs": '["y"]'}, "malformed"),
    }
    for number, (case, (fields, expected)) in enumerate(cases.items()):
        reply = f"simdask:reply:{{simdask:requests}}:poison{number}"
        raw.xadd("simdask:requests", {**fields, "reply": reply})
        answer = raw.blpop(reply, timeout=30)
        assert answer is not None, f"{case}: no answer"
        assert answer[1].startswith(b"ERR") and expected.encode() in answer[1], (case, answer[1])
    raw.xadd("simdask:requests", {"model": "tiny", "inputs": '["x"]', "outputs": '["y"]'})  # no reply key
    raw.xadd("simdask:requests", {"model": "tiny", "inputs": nested, "outputs": "[]"})  # ... and poisoned
    still_serving(client, server)
    deadline = time.monotonic() + 10
    while raw.xpending("simdask:requests", "simdask")["pending"] or raw.xlen("simdask:requests"):
        assert time.monotonic() < deadline, "entries without a reply key were not acknowledged and deleted"
        time.sleep(0.05)


def test_poisoned_records_and_inputs_are_answered_err(serving):
    client, server, raw = serving
    good = hostile.torchscript_bytes(hostile.Tiny())
    tiny = dict(client.get_model_spec("tiny").to_attrs()["simdask_spec"])
    store_record(client, "not_a_dict", good, {"simdask_spec": [1, 2, 3]})
    store_record(client, "bad_field", good, {"simdask_spec": {**tiny, "batch_size": "many"}})
    store_record(client, "bad_backend", good, {"simdask_spec": {**tiny, "backend": "PICKLE"}})
    store_record(client, "newer", good, {"simdask_spec": {**tiny, "added_by_a_newer_client": {"x": 1}}})
    raw.set("simdask:model:{garbage}", b"SDT\x01" + b"\xff" * 60)
    raw.set("deep_attrs", tensor_blob(np.zeros(3, np.float32), attrs_json=b"[" * DEEP + b"]" * DEEP))
    raw.set("bools", tensor_blob(np.array([0, 1, 7], np.uint8), dtype_code=14))
    raw.rpush("a_list", "x")
    errors = {
        lambda: client.run_model("not_a_dict", ["x"], ["y"], timeout=30): "not a simdask model",
        lambda: client.run_model("bad_field", ["x"], ["y"], timeout=30): "batch_size must be an integer",
        lambda: client.run_model("bad_backend", ["x"], ["y"], timeout=30): "backend must be one of",
        lambda: client.run_model("garbage", ["x"], ["y"], timeout=30): "simdask:model:{garbage}",
        lambda: client.run_model("tiny", ["deep_attrs"], ["y"], timeout=30): "'deep_attrs'.*deeper than 64",
        lambda: client.run_model("tiny", ["bools"], ["y"], timeout=30): "'bools'.*other than 0 and 1",
        lambda: client.run_model("tiny", ["a_list"], ["y"], timeout=30): "'a_list'",
    }
    for call, message in errors.items():
        with pytest.raises(simdask.ModelError, match=message) as info:
            call()
        assert not isinstance(info.value, simdask.ModelTimeoutError), message
    client.run_model("newer", ["x"], ["y"], timeout=30)  # fields of a newer client are ignored
    assert client.get_model_spec("newer").extra["added_by_a_newer_client"] == {"x": 1}
    still_serving(client, server)


# -- 3 and 6. stopping ---------------------------------------------------------------------------------


def consumers(raw) -> set[str]:
    names = set()
    for stream in ("simdask:requests", "simdask:gpu-requests:{simdask:requests}", node_stream(node_name())):
        names |= {
            c["name"].decode() if isinstance(c["name"], bytes) else c["name"]
            for c in raw.xinfo_consumers(stream, "simdask")
        }
    return names


def test_start_stop_cycles_leave_no_consumer_behind(own_store, dask_client):
    client = simdask.Client(own_store.address)
    raw = client.redis()
    client.set_model("tiny", torch.jit.script(hostile.Tiny()), "TORCH")
    client.put_tensor("x", np.zeros(3, np.float32))
    for cycle in range(3):
        server = simdask.InferenceServer(own_store.address, dask_client, name=f"cycle{cycle}").start()
        client.run_model("tiny", ["x"], ["y"], timeout=30)
        assert any(name.startswith(f"cycle{cycle}-") for name in consumers(raw))
        with within(10):
            served = server.stop(timeout=10)
        assert sum(s["served"] for s in served) == 1
        assert consumers(raw) == set(), consumers(raw)
    raw.close()


def test_stop_cancels_busy_loops_and_hands_their_requests_over(own_store, dask_client):
    client = simdask.Client(own_store.address)
    client.set_script("spin", SPIN)
    client.put_tensor("x", np.zeros(1, np.float32))
    started = time.perf_counter()
    torch.jit.CompilationUnit(SPIN).spin(torch.zeros(1), torch.tensor(100_000))
    per_step = (time.perf_counter() - started) / 100_000
    client.put_tensor("n", np.array(int(0.6 / per_step)))  # one run: about 0.6 s here, more on a busy worker
    outcomes: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            simdask.Client(own_store.address).run_script("spin", "spin", ["x", "n"], [f"y{i}"], timeout=60)
            outcomes[i] = "ok"
        except BaseException as exc:  # reported below
            outcomes[i] = exc

    server = simdask.InferenceServer(own_store.address, dask_client, name="busy").start()
    raw = client.redis()
    callers = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in callers:
        thread.start()
    deadline = time.monotonic() + 30
    while held_requests(raw) < 2:  # both loops are busy
        assert time.monotonic() < deadline, "the loops never took the requests"
        time.sleep(0.02)
    with within(1.5):
        try:
            server.stop(timeout=1.5)
        except simdask.ServiceStateError as exc:  # only when a single run outlasted the stop
            assert "did not stop within 1.5 s" in str(exc)
    assert not any(name.startswith("busy-") for name in consumers(raw))
    assert not [i for i, o in outcomes.items() if o != "ok"], outcomes
    answered_before = len(outcomes)
    assert answered_before < 8, "the requests were all answered before the stop: make each run longer"
    time.sleep(1.0)  # a loop cancelled mid-run would have answered by now, had it not really stopped
    assert len(outcomes) == answered_before
    replacement = simdask.InferenceServer(own_store.address, dask_client, name="next", claim_idle=1).start()
    try:
        for thread in callers:
            thread.join(60)
    finally:
        replacement.stop(timeout=10)
    assert outcomes == {i: "ok" for i in range(8)}, outcomes  # no request was lost
    assert MARGIN_S >= 0.5
    raw.close()


def test_run_model_payload_json_is_plain(serving):
    client, _, raw = serving
    reply = "simdask:reply:{simdask:requests}:plain"
    raw.xadd(
        "simdask:requests", {"model": "tiny", "inputs": json.dumps(["x"]), "outputs": json.dumps(["z"]), "reply": reply}
    )
    assert raw.blpop(reply, timeout=30)[1] == b"OK"
    np.testing.assert_array_equal(client.get_tensor("z"), np.ones(3, np.float32))
