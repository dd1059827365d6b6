"""The server calls of :class:`~smartredis.Client` (a mixin): node information, configuration, flush, save."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import simdask

from .error import RedisRuntimeError
from .util import client_method, typecheck

__all__ = ["ServerCalls"]


@contextmanager
def _node_calls() -> Iterator[None]:
    """Server calls: an address that names no node of the store is a :class:`RedisRuntimeError`."""
    try:
        yield
    except ValueError as exc:
        raise RedisRuntimeError(str(exc)) from None


class ServerCalls:
    """:class:`~smartredis.Client`'s calls on the nodes of the store (its ``_core`` is the simdask client)."""

    _core: simdask.Client

    @client_method
    def get_db_node_info(self, addresses: list[str]) -> list[dict[str, dict[str, str]]]:
        """``INFO everything`` of each node, in the order of ``addresses``: section -> field -> value."""
        typecheck(addresses, "addresses", list)
        with _node_calls():
            return [_only(self._core.db_info(address)) for address in _addresses(addresses)]

    @client_method
    def get_db_cluster_info(self, addresses: list[str]) -> list[dict[str, str]]:
        """``CLUSTER INFO`` of each node (a store that is no cluster raises RedisRuntimeError)."""
        typecheck(addresses, "addresses", list)
        with _node_calls():
            return [_only(self._core.cluster_info(address)) for address in _addresses(addresses)]

    @client_method
    def get_ai_info(self, address: list[str], key: str, reset_stat: bool = False) -> list[dict[str, str]]:
        """What is stored of model or script ``key``, once per node address (RedisAI's AI.INFO keys).

        ``key``, ``type`` (MODEL or SCRIPT), ``backend``, ``device``, ``tag``, and
        for a model its ``version`` and batching settings. RedisAI's run
        statistics (duration, samples, calls, errors) are not kept by simdask
        and are not in the answer; ``reset_stat`` is accepted and does nothing.
        """
        typecheck(address, "address", list)
        typecheck(key, "key", str)
        typecheck(reset_stat, "reset_stat", bool)
        with _node_calls():
            for node in _addresses(address):
                self._core.db_info(node, "server")  # the address must name a node of the store
        try:
            spec = self._core.get_model_spec(key)
        except simdask.SimdaskError:
            if not self._core.model_exists(key):
                raise RedisRuntimeError(f"no model or script {key!r} is stored") from None
            info = {"key": key, "type": "SCRIPT", "backend": "TORCH"}
        else:
            info = {
                "key": key,
                "type": spec.kind.upper(),
                "backend": spec.backend,
                "device": spec.device,
                "tag": spec.tag,
                "version": str(spec.version),
                "batch_size": str(spec.batch_size),
                "min_batch_size": str(spec.min_batch_size),
                "min_batch_timeout": str(spec.min_batch_timeout),
            }
        return [dict(info) for _ in address]

    @client_method
    def flush_db(self, addresses: list[str]) -> None:
        """Delete every key of each node (of a cluster: only the shards named)."""
        typecheck(addresses, "addresses", list)
        with _node_calls():
            for address in _addresses(addresses):
                self._core.flush_db(address)

    @client_method
    def config_get(self, expression: str, address: str) -> dict[str, str]:
        """``CONFIG GET expression`` on one node: parameter -> value (``{}``: no such parameter)."""
        typecheck(expression, "expression", str)
        typecheck(address, "address", str)
        with _node_calls():
            return _only(self._core.config_get(expression, address))

    @client_method
    def config_set(self, config_param: str, value: str, address: str) -> None:
        """``CONFIG SET config_param value`` on one node (an unknown parameter raises RedisRuntimeError)."""
        typecheck(config_param, "config_param", str)
        typecheck(value, "value", str)
        typecheck(address, "address", str)
        with _node_calls():
            self._core.config_set(config_param, value, address)

    @client_method
    def save(self, addresses: list[str]) -> None:
        """``SAVE`` on each node: a snapshot written to the node's directory now."""
        typecheck(addresses, "addresses", list)
        with _node_calls():
            for address in _addresses(addresses):
                self._core.save(address)


def _addresses(addresses: Sequence[Any]) -> list[str]:
    for address in addresses:
        typecheck(address, "address", str)
    return list(addresses)


def _only(per_node: dict[str, Any]) -> Any:
    """The one node's answer of a server call made on one node."""
    (answer,) = per_node.values()
    return answer
