"""smartredis.error: SmartRedis's classes, the one table from simdask's errors, and type checks before any I/O."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import smartredis
from smartredis import error
from smartredis.error import (
    RedisBadAllocError,
    RedisConnectionError,
    RedisDatabaseError,
    RedisInternalError,
    RedisKeyError,
    RedisReplyError,
    RedisRuntimeError,
    RedisTimeoutError,
)
from smartredis.util import exception_handler

import simdask
from simdask import errors as sd


def test_classes_and_bases_are_smartredis():
    assert error.__all__ == [
        "RedisConnectionError",
        "RedisReplyError",
        "RedisRuntimeError",
        "RedisBadAllocError",
        "RedisDatabaseError",
        "RedisInternalError",
        "RedisTimeoutError",
        "RedisKeyError",
    ]
    assert RedisConnectionError.__bases__ == (RuntimeError,) and RedisReplyError.__bases__ == (RuntimeError,)
    for cls in (RedisRuntimeError, RedisBadAllocError, RedisDatabaseError, RedisInternalError, RedisTimeoutError):
        assert cls.__bases__ == (RedisReplyError,)
    assert RedisKeyError.__bases__ == (RedisReplyError,)
    assert str(RedisReplyError("what", "Client.put_tensor")) == "Client.put_tensor execution failed\nwhat"


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (sd.KeyNotFoundError("tensor 'u'"), RedisKeyError),
        (sd.ModelTimeoutError("model 'm'"), RedisTimeoutError),
        (sd.StoreTimeoutError("GET at a"), RedisTimeoutError),
        (sd.StoreConnectionError("a gone"), RedisDatabaseError),
        (sd.StoreFullError("OOM"), RedisDatabaseError),
        (sd.AuthenticationError("NOAUTH"), RedisDatabaseError),
        (sd.ModelError("model 'm' failed"), RedisRuntimeError),
        (sd.ResponseError("ERR"), RedisRuntimeError),
        (sd.WrongTypeError("WRONGTYPE"), RedisRuntimeError),
        (sd.TensorFormatError("corrupt"), RedisRuntimeError),
        (sd.RunFailedError("died"), RedisRuntimeError),
        (sd.StoreStartError("no"), RedisInternalError),
        (MemoryError(), RedisBadAllocError),
        (sd.UnsupportedDtypeError("object"), sd.UnsupportedDtypeError),  # a TypeError: stays one
        (ValueError("bad"), ValueError),
        (TypeError("bad"), TypeError),
        (FileNotFoundError("/x"), FileNotFoundError),
    ],
)
def test_translation_table(raised, expected):
    @exception_handler
    def call():
        raise raised

    with pytest.raises(expected) as caught:
        call()
    if expected.__module__ == error.__name__:
        assert str(raised) in str(caught.value) and "call execution failed" in str(caught.value)
    else:
        assert caught.value is raised


def test_every_public_call_checks_types_before_any_io(monkeypatch):
    """On a store that is gone, a wrong argument type is still a TypeError (nothing was sent)."""
    with simdask.Store("standalone") as store:
        monkeypatch.setenv("SSDB", store.address)
        client = smartredis.Client(None, logger_name="gone")
    monkeypatch.setenv("SR_CONN_TIMEOUT", "1")
    skipped = {"log_data", "log_warning", "log_error", "simdask_client"}
    checked = 0
    for name, method in inspect.getmembers(client, inspect.ismethod):
        if name.startswith("_") or name in skipped:
            continue
        arguments = [p for p in inspect.signature(method).parameters.values() if p.default is p.empty]
        if not arguments:
            continue
        with pytest.raises(TypeError):
            method(*([object()] * len(arguments)))
        checked += 1
    assert checked > 50
    with pytest.raises(RedisDatabaseError, match=store.address.split(",")[0]):
        client.get_tensor("u")


def test_argument_errors_stay_value_errors(sr_client):
    with pytest.raises(ValueError):
        sr_client.put_tensor("", np.ones(1))
    with pytest.raises(ValueError):
        sr_client.poll_list_length("l", -1, 10, 1)
