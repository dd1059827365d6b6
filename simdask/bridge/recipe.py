"""A store connection that crosses process boundaries: one client per process, made from a recipe.

Dask tasks carry a :class:`ClientRecipe` (the pickled :class:`~simdask.Client`:
address, options and key prefixes, never sockets). Each worker process turns
equal recipes into one shared client, so its tasks reuse pooled connections
instead of connecting once per task. Forked children open their own
connections (the transport checks the process id).
"""

from __future__ import annotations

import contextlib
import pickle
import threading
from collections.abc import Iterator

from ..client import Client

__all__ = ["ClientRecipe", "connected"]

_CLIENTS: dict[bytes, Client] = {}
_LOCK = threading.Lock()


@contextlib.contextmanager
def connected(address: str | Client | None) -> Iterator[Client]:
    """``address`` itself when it is a client; else a client on ``address`` (``None``: ``SIMDASK_ADDRESS``),
    closed on exit (Dask tasks reach the store through a :class:`ClientRecipe` of it)."""
    if isinstance(address, Client):
        yield address
        return
    if address is not None and not isinstance(address, str):
        raise TypeError(f"address must be a string, a simdask.Client or None, got {type(address).__name__}")
    with Client(address) as client:
        yield client


class ClientRecipe:
    """How to reach a store from any process.

    Parameters
    ----------
    client
        The client whose address, options and key prefixes the recipe keeps.
    """

    __slots__ = ("_state",)

    def __init__(self, client: Client) -> None:
        self._state = pickle.dumps(client)

    def client(self) -> Client:
        """This process's client for the recipe (created on first use)."""
        client = _CLIENTS.get(self._state)
        if client is None:
            with _LOCK:
                client = _CLIENTS.get(self._state)
                if client is None:
                    client = _CLIENTS[self._state] = pickle.loads(self._state)
        return client

    def __getstate__(self) -> bytes:
        return self._state

    def __setstate__(self, state: bytes) -> None:
        self._state = state

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClientRecipe) and other._state == self._state

    def __hash__(self) -> int:
        return hash(self._state)

    def __repr__(self) -> str:
        return f"<ClientRecipe {self.client().address}>"
