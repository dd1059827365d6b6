"""The serving loops' latency and per-loop records (simdask.inference.stats) on every store kind."""

from __future__ import annotations

from simdask.inference.stats import (
    LATENCY_SAMPLES,
    LOOP_RECORD_TTL_S,
    LoopRecord,
    answer_records,
    histogram_key,
    latency_key,
    latency_summaries,
    loop_key,
    loop_records,
)
from simdask.protocol import ModelSpec, RunRequest
from simdask.protocol.requests import REQUEST_STREAM
from simdask.transport import Request, check_transaction

SPEC = ModelSpec("model", "mlp", "ONNX", "onnx")


def _requests(client, count: int) -> list[RunRequest]:
    """Run requests as a loop reads them: real stream entries, so that their ids carry the store's time."""
    transport = client.session.transport
    ids = [
        transport.execute(REQUEST_STREAM, "XADD", REQUEST_STREAM, "*", "model", "mlp").decode() for _ in range(count)
    ]
    return [RunRequest("model", "mlp", ("x",), ("y",), f"reply-{i}", "", entry_id) for i, entry_id in enumerate(ids)]


def _send(client, commands) -> list:
    return client.session.transport.run([Request(key, [command]) for key, command in commands])


def test_ok_answers_are_timed_and_every_answer_counted_per_loop(client):
    first, second, failed = _requests(client, 3)
    answers = [(first, "OK"), (second, "OK"), (failed, "ERR model 'mlp': boom")]
    assert _send(client, answer_records(answers, SPEC, "cpu", "serve-1-0", "tcp://10.0.0.5:4000", True)) == [2]
    assert _send(client, answer_records([(first, "OK")], SPEC, "cuda:0", "serve-1-0", "tcp://10.0.0.5:4000", True))

    latency = latency_summaries(client.session, ["model:mlp", "model:absent"])
    assert list(latency) == ["model:mlp"]  # a model with nothing recorded is left out
    mlp = latency["model:mlp"]
    assert mlp.samples == mlp.count == 3 and sum(mlp.buckets.values()) == 3
    assert 0 <= mlp.p50 <= mlp.p90 <= mlp.p99 < 60_000 and mlp.sum_ms >= 0
    assert loop_records(client.session, ["serve-1-0", "serve-1-1"]) == {
        "serve-1-0": LoopRecord(
            "serve-1-0", "tcp://10.0.0.5:4000", True, {("model:mlp", "cpu"): 2, ("model:mlp", "cuda:0"): 1}, 1
        )
    }
    ttl = client.session.transport.execute(loop_key("serve-1-0"), "TTL", loop_key("serve-1-0"))
    assert 0 < ttl <= LOOP_RECORD_TTL_S
    assert (
        answer_records([], SPEC, "cpu", "c", "w", False) == answer_records(answers, None, "cpu", "c", "w", False) == []
    )


def test_recent_latencies_are_capped(client):
    (request,) = _requests(client, 1)
    answers = [(request, "OK")] * (LATENCY_SAMPLES + 5)
    _send(client, answer_records(answers, SPEC, "cpu", "serve-2-0", "w", False))
    latency = latency_summaries(client.session, ["model:mlp"])["model:mlp"]
    assert (latency.samples, latency.count) == (LATENCY_SAMPLES, LATENCY_SAMPLES + 5)


def test_a_foreign_key_never_fails_the_answers_transaction(client):
    """The record runs inside the loop's MULTI with the answers: a key of another type must not abort it."""
    transport = client.session.transport
    transport.execute(histogram_key("model:mlp"), "SET", histogram_key("model:mlp"), "not a hash")
    (request,) = _requests(client, 1)
    ((key, command),) = answer_records([(request, "OK")], SPEC, "cpu", "serve-3-0", "w", False)
    if client.is_cluster:
        assert _send(client, [(key, command)]) == [1]
    else:  # as the loop sends it: one transaction with its answers
        replies = transport.run([Request(REQUEST_STREAM, [("MULTI",), command, ("LPUSH", "reply", "OK"), ("EXEC",)])])
        assert check_transaction(replies[0], "answering") == [1, 1]
    assert transport.execute(latency_key("model:mlp"), "LLEN", latency_key("model:mlp")) == 1
