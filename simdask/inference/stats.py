"""What the serving loops record beside their answers: latencies per model and counts per loop.

With each batch of answers a loop runs :data:`RECORD` (one ``EVAL``, in the
same transaction or pipeline as the answers) on three keys, all on the
request stream's shard (hash tag ``{simdask:requests}``):

- ``simdask:inference:latency:{simdask:requests}:<kind>:<name>``: a list of
  the latest :data:`LATENCY_SAMPLES` latencies of the model (milliseconds,
  newest first);
- ``simdask:inference:latency-hist:{simdask:requests}:<kind>:<name>``: a
  hash counting every latency of the model by bucket (field: the bucket's
  upper bound in ms, :data:`BUCKETS_MS`, or ``+Inf``; not cumulative), with
  ``count`` and ``sum`` (ms);
- ``simdask:inference:loop:{simdask:requests}:<consumer>``: the loop's
  ``worker`` and ``gpu`` (``1``: a loop placed on a GPU worker), its
  answers ``served|<kind>:<name>|<device>`` (``OK``) and ``errors``;
  it expires :data:`LOOP_RECORD_TTL_S` after the loop's last answer.

A latency runs from the request's entry in the stream (the millisecond time
of its entry id) to its answer, both on the store's clock: queueing, batching,
reading inputs, the model run and writing outputs, as the store saw them; at
most 1 ms more than the truth (entry ids count whole milliseconds). A request
a CPU loop handed to the GPU stream counts from its second entry. Only ``OK``
answers are timed. ``docs/dashboard.md`` describes the records; the dashboard
(:mod:`simdask.dashboard`) and anyone else read them with
:func:`latency_summaries` and :func:`loop_records`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..protocol import ModelSpec, RunRequest, Session
from ..protocol.requests import REQUEST_STREAM
from ..transport import ErrorReply, Request

__all__ = [
    "BUCKETS_MS",
    "LATENCY_SAMPLES",
    "LOOP_RECORD_TTL_S",
    "RECORD",
    "Latency",
    "LoopRecord",
    "answer_records",
    "histogram_key",
    "latency_key",
    "latency_summaries",
    "loop_key",
    "loop_records",
]

#: Latencies kept per model for percentiles (the latest ones).
LATENCY_SAMPLES = 1000
#: Seconds a loop's record stays after its last answer.
LOOP_RECORD_TTL_S = 86400
#: Upper bounds (ms) of the latency histogram's buckets; a last bucket ``+Inf`` takes the rest.
BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000)
_TAG = "{" + REQUEST_STREAM + "}"

#: ``EVAL RECORD 3 <latency list> <histogram> <loop record> <samples> <ttl s> <worker> <gpu 0|1>
#: <served field> <errors> <entry id> ...``: time each ``OK`` answer (one entry id each) against the
#: store's clock, count the loop's answers. Every call is ``pcall``: it never fails the transaction
#: it runs in (a key of a foreign type is left alone). Returns how many latencies it recorded.
RECORD = (
    """\
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local bounds = {"""
    + ", ".join(map(str, BUCKETS_MS))
    + """}
local n, total = 0, 0
for i = 7, #ARGV do
  local sent = tonumber(string.match(ARGV[i], '^(%d+)%-%d+$'))
  if sent then
    local ms = math.max(0, now - sent)
    local le = '+Inf'
    for _, b in ipairs(bounds) do
      if ms <= b then le = tostring(b) break end
    end
    redis.pcall('LPUSH', KEYS[1], string.format('%.3f', ms))
    redis.pcall('HINCRBY', KEYS[2], le, 1)
    n = n + 1
    total = total + ms
  end
end
if n > 0 then
  redis.pcall('LTRIM', KEYS[1], 0, tonumber(ARGV[1]) - 1)
  redis.pcall('HINCRBY', KEYS[2], 'count', n)
  redis.pcall('HINCRBYFLOAT', KEYS[2], 'sum', string.format('%.3f', total))
  redis.pcall('HINCRBY', KEYS[3], ARGV[5], n)
end
redis.pcall('HINCRBY', KEYS[3], 'errors', tonumber(ARGV[6]) or 0)
redis.pcall('HSET', KEYS[3], 'worker', ARGV[3], 'gpu', ARGV[4])
redis.pcall('EXPIRE', KEYS[3], ARGV[2])
return n
"""
)


def latency_key(label: str) -> str:
    """The list of recent latencies of model ``label`` (``<kind>:<name>``)."""
    return f"simdask:inference:latency:{_TAG}:{label}"


def histogram_key(label: str) -> str:
    """The latency histogram hash of model ``label`` (``<kind>:<name>``)."""
    return f"simdask:inference:latency-hist:{_TAG}:{label}"


def loop_key(consumer: str) -> str:
    """The record of serving loop ``consumer``."""
    return f"simdask:inference:loop:{_TAG}:{consumer}"


def answer_records(
    answers: Sequence[tuple[RunRequest, str]],
    spec: ModelSpec | None,
    device: str,
    consumer: str,
    worker: str,
    gpu: bool,
) -> list[tuple[str, tuple[Any, ...]]]:
    """The (key, command) that records a batch of answers of one model (:data:`RECORD`); none without a model.

    ``answers`` are (request, ``OK`` or ``ERR ...``) as the loop sends them,
    ``device`` where the model ran (``cpu``, ``cuda:0``), ``consumer`` and
    ``worker`` the loop and its Dask worker, ``gpu`` whether the loop serves
    GPU models.
    """
    if spec is None or not answers:
        return []
    label = f"{spec.kind}:{spec.name}"
    ok = [request.entry_id for request, message in answers if message == "OK"]
    command = (
        "EVAL",
        RECORD,
        3,
        latency_key(label),
        histogram_key(label),
        loop_key(consumer),
        LATENCY_SAMPLES,
        LOOP_RECORD_TTL_S,
        worker,
        int(gpu),
        f"served|{label}|{device}",
        len(answers) - len(ok),
        *ok,
    )
    return [(latency_key(label), command)]


@dataclass(frozen=True)
class Latency:
    """The latencies of one model: percentiles of the recent ones, the histogram of all (ms)."""

    samples: int  # recent latencies the percentiles are taken over
    p50: float | None
    p90: float | None
    p99: float | None
    count: int  # every latency recorded
    sum_ms: float
    buckets: dict[str, int] = field(default_factory=dict)  # upper bound (ms, or "+Inf") -> count, not cumulative


@dataclass(frozen=True)
class LoopRecord:
    """What one serving loop answered, and where it runs."""

    consumer: str
    worker: str = ""
    gpu: bool = False
    served: dict[tuple[str, str], int] = field(default_factory=dict)  # (model label, device) -> OK answers
    errors: int = 0


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _pairs(reply: Any) -> dict[str, str]:
    if isinstance(reply, ErrorReply) or not reply:
        return {}
    if isinstance(reply, dict):
        return {_text(k): _text(v) for k, v in reply.items()}
    return {_text(k): _text(v) for k, v in zip(reply[::2], reply[1::2])}


def latency_summaries(session: Session, labels: Sequence[str]) -> dict[str, Latency]:
    """The recorded latencies of models ``labels`` (``<kind>:<name>``), in one round trip; models with
    none recorded are left out."""
    requests = [
        Request(latency_key(label), [("LRANGE", latency_key(label), 0, -1), ("HGETALL", histogram_key(label))])
        for label in labels
    ]
    found: dict[str, Latency] = {}
    for label, (recent, histogram) in zip(labels, session.transport.run(requests)):
        samples = [] if isinstance(recent, ErrorReply) else [float(v) for v in recent or []]
        buckets = _pairs(histogram)
        count = int(buckets.pop("count", 0))
        sum_ms = float(buckets.pop("sum", 0.0))
        if not samples and not count:
            continue
        p50, p90, p99 = (float(v) for v in np.percentile(samples, [50, 90, 99])) if samples else (None,) * 3
        found[label] = Latency(len(samples), p50, p90, p99, count, sum_ms, {k: int(v) for k, v in buckets.items()})
    return found


def loop_records(session: Session, consumers: Sequence[str]) -> dict[str, LoopRecord]:
    """The records of serving loops ``consumers``, in one round trip; loops that answered nothing yet (or
    not for :data:`LOOP_RECORD_TTL_S`) are left out."""
    replies = session.transport.run([Request(loop_key(c), [("HGETALL", loop_key(c))]) for c in consumers])
    found: dict[str, LoopRecord] = {}
    for consumer, reply in zip(consumers, replies):
        fields = _pairs(reply)
        if not fields:
            continue
        served: dict[tuple[str, str], int] = {}
        for name, value in fields.items():
            if name.startswith("served|"):
                label, _, device = name[len("served|") :].rpartition("|")
                served[(label, device)] = int(value)
        found[consumer] = LoopRecord(
            consumer, fields.get("worker", ""), fields.get("gpu") == "1", served, int(fields.get("errors", 0))
        )
    return found
