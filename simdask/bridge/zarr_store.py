"""A zarr v3 store on simdask's in-memory store, shared by every process that can reach it.

Key layout, for a zarr store named ``N`` (see ``docs/protocol.md``):

- the value of zarr key ``k`` is the plain string key ``N/k`` (no hash tag:
  chunks spread over the shards of a cluster);
- the index ``simdask:zarr:{N}`` is a sorted set of every zarr key (all
  scores 0, so ordered by bytes). Listing reads ranges of it (``ZRANGE
  BYLEX``) and never scans the keyspace; ``list_dir`` skips over whole
  subtrees inside one server-side script.

A write sends ``SET`` and ``ZADD`` in one pipelined round trip, a delete
``UNLINK`` and ``ZREM``. Byte ranges are read with ``GETRANGE``. Key prefixes
(ensembles) do not apply: the store's name is its namespace.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, Store, SuffixByteRequest
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype

from ..client import Client
from ..errors import error_from_reply
from ..protocol.keys import INTERNAL
from ..transport import ErrorReply, Request, read_reply_list, read_value
from .recipe import ClientRecipe, connected

__all__ = ["ZarrStore"]

_PAGE = 10_000  # index entries per ZRANGE

#: Children of a "directory" of the index: one ZRANGE per batch of keys,
#: jumping over each subtree once its first key is seen.
_LIST_DIR = """
local index, base = KEYS[1], ARGV[1]
local stop = base == '' and '+' or ('(' .. base .. '\\255')
local start = base == '' and '-' or ('[' .. base)
local out = {}
while true do
  local batch = redis.call('ZRANGE', index, start, stop, 'BYLEX', 'LIMIT', 0, 256)
  if #batch == 0 then return out end
  for _, key in ipairs(batch) do
    local rest = string.sub(key, #base + 1)
    local slash = string.find(rest, '/', 1, true)
    if slash then
      local child = string.sub(rest, 1, slash - 1)
      out[#out + 1] = child
      start = '(' .. base .. child .. '/\\255'
      break
    end
    out[#out + 1] = rest
    start = '(' .. key
  end
end
"""


def _range_args(byte_range: ByteRequest) -> tuple[int, int] | None:
    """``GETRANGE`` start and end (inclusive) of a zarr byte request; ``None`` for an empty range."""
    if isinstance(byte_range, RangeByteRequest):
        return (byte_range.start, byte_range.end - 1) if byte_range.end > byte_range.start else None
    if isinstance(byte_range, OffsetByteRequest):
        return byte_range.offset, -1
    if isinstance(byte_range, SuffixByteRequest):
        return (-byte_range.suffix, -1) if byte_range.suffix > 0 else None
    raise TypeError(f"Unexpected byte_range, got {byte_range!r}")


def _check(reply: Any, context: str) -> Any:
    if isinstance(reply, ErrorReply):
        raise error_from_reply(reply, context)
    return reply


class ZarrStore(Store):
    """A :class:`zarr.abc.store.Store` whose keys live in a simdask store.

    Parameters
    ----------
    name
        The store's namespace in the simdask store (e.g. ``"runs/exp1"``):
        no braces, not starting with ``simdask:``.
    address
        The simdask store: an address (``None``: ``SIMDASK_ADDRESS``) or a
        :class:`~simdask.Client`.
    read_only
        Refuse writes and deletes.

    Examples
    --------
    >>> store = simdask.ZarrStore("runs/exp1", address)            # doctest: +SKIP
    >>> ds.to_zarr(store, zarr_format=3)                            # doctest: +SKIP
    >>> xarray.open_zarr(store).u.mean().compute()                  # doctest: +SKIP
    """

    supports_writes: bool = True
    supports_deletes: bool = True
    supports_listing: bool = True

    def __init__(self, name: str, address: str | Client | None = None, *, read_only: bool = False) -> None:
        super().__init__(read_only=read_only)
        if not isinstance(name, str) or not name.strip("/"):
            raise ValueError(f"a zarr store needs a non-empty name, got {name!r}")
        if "{" in name or "}" in name or name.startswith(INTERNAL):
            raise ValueError(f"zarr store name {name!r} must not contain braces nor start with {INTERNAL!r}")
        with connected(address) as client:
            self.address = client.address
            self._recipe = ClientRecipe(client)
        self.name = name.strip("/")
        self._base = self.name + "/"
        self._index = f"{INTERNAL}zarr:{{{self.name}}}"

    # -- identity ----------------------------------------------------------------

    def with_read_only(self, read_only: bool = False) -> ZarrStore:
        return type(self)(self.name, self._recipe.client(), read_only=read_only)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ZarrStore) and (other.address, other.name, other.read_only) == (
            self.address,
            self.name,
            self.read_only,
        )

    def __hash__(self) -> int:
        return hash((self.address, self.name, self.read_only))

    def __str__(self) -> str:
        return f"simdask://{self.address}/{self.name}"

    def __repr__(self) -> str:
        return f"ZarrStore({self.name!r}, {self.address!r}{', read_only=True' if self.read_only else ''})"

    # -- blocking operations (run in a thread by the async API) ---------------------

    def _run(self, requests: list[Request]) -> list[Any]:
        return self._recipe.client().session.transport.run(requests)

    def _key(self, key: str) -> str:
        return self._base + key

    def get_sync(
        self,
        key: str,
        *,
        prototype: BufferPrototype | None = None,
        byte_range: ByteRequest | None = None,
    ) -> Buffer | None:
        """:meth:`get`, blocking."""
        return self._get_values(prototype or default_buffer_prototype(), [(key, byte_range)])[0]

    def _get_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        requests = []
        for key, byte_range in key_ranges:
            stored = self._key(key)
            if byte_range is None:
                requests.append(Request(stored, (("GET", stored),), read_value))
                continue
            bounds = _range_args(byte_range)  # GETRANGE of a missing key is "": ask EXISTS too
            ranged = () if bounds is None else (("GETRANGE", stored, *bounds),)
            requests.append(Request(stored, (("EXISTS", stored), *ranged), read_reply_list(1 + len(ranged))))
        results: list[Buffer | None] = []
        for request, reply in zip(requests, self._run(requests)):
            context = f"zarr get {request.key!r} at {self.address}"
            if isinstance(reply, list):  # EXISTS [, GETRANGE]
                exists, value = _check(reply[0], context), _check(reply[-1], context) if len(reply) == 2 else b""
                reply = value if exists else None
            _check(reply, context)
            results.append(None if reply is None else prototype.buffer.from_bytes(reply))
        return results

    def set_sync(self, key: str, value: Buffer) -> None:
        """:meth:`set`, blocking."""
        self._set_values([(key, value)])

    def _set_values(self, items: Iterable[tuple[str, Buffer]], *, only_new: bool = False) -> None:
        self._check_writable()
        items = list(items)
        for _, value in items:
            if not isinstance(value, Buffer):
                raise TypeError(f"ZarrStore.set(): value must be a zarr Buffer, got {type(value).__name__}")
        extra = ("NX",) if only_new else ()
        requests = [Request(self._key(k), (("SET", self._key(k), v.as_numpy_array(), *extra),)) for k, v in items]
        requests += [Request(self._index, (("ZADD", self._index, *(x for k, _ in items for x in (0, k))),))]
        replies = self._run(requests) if items else []
        failed = [k for (k, _), reply in zip(items, replies) if isinstance(reply, ErrorReply)]
        if failed:
            self._unindex_missing(failed)
        for (k, _), reply in zip(items, replies):
            _check(reply, f"zarr set {self._key(k)!r} at {self.address}")
        if replies:
            _check(replies[-1], f"zarr index {self._index!r} at {self.address}")

    def _unindex_missing(self, keys: list[str]) -> None:
        exists = self._run([Request(self._key(k), (("EXISTS", self._key(k)),)) for k in keys])
        gone = [k for k, there in zip(keys, exists) if there == 0]
        if gone:
            self._run([Request(self._index, (("ZREM", self._index, *gone),))])

    def delete_sync(self, key: str) -> None:
        """:meth:`delete`, blocking."""
        self._delete_keys([key])

    def _delete_keys(self, keys: list[str]) -> None:
        self._check_writable()
        for start in range(0, len(keys), _PAGE):
            batch = keys[start : start + _PAGE]
            requests = [Request(self._key(k), (("UNLINK", self._key(k)),)) for k in batch]
            requests.append(Request(self._index, (("ZREM", self._index, *batch),)))
            for request, reply in zip(requests, self._run(requests)):
                _check(reply, f"zarr delete {request.key!r} at {self.address}")

    def _exists(self, key: str) -> bool:
        stored = self._key(key)
        return bool(_check(self._run([Request(stored, (("EXISTS", stored),))])[0], f"EXISTS {stored!r}"))

    def _sizes(self, keys: list[str]) -> list[int | None]:
        requests = [Request(self._key(k), (("EXISTS", self._key(k)), ("STRLEN", self._key(k)))) for k in keys]
        return [int(size) if there else None for there, size in self._run(requests)]

    def _range(self, start: str, stop: str | bytes) -> list[str]:
        """Index entries between two ``ZRANGE BYLEX`` bounds, a page at a time."""
        found: list[str] = []
        while True:
            command = ("ZRANGE", self._index, start, stop, "BYLEX", "LIMIT", 0, _PAGE)
            page = _check(self._run([Request(self._index, (command,))])[0], f"ZRANGE {self._index!r} at {self.address}")
            batch = [k.decode() for k in page]
            found += batch
            if len(batch) < _PAGE:
                return found
            start = "(" + batch[-1]

    def _prefixed(self, prefix: str) -> list[str]:
        if not prefix:
            return self._range("-", "+")
        return self._range("[" + prefix, b"(" + prefix.encode() + b"\xff")  # no UTF-8 text holds 0xff

    def _children(self, prefix: str) -> list[str]:
        base = prefix.rstrip("/")
        base = base + "/" if base else ""
        reply = self._run([Request(self._index, (("EVAL", _LIST_DIR, 1, self._index, base),), idempotent=True)])[0]
        names = [k.decode() for k in _check(reply, f"listing {self._index!r} at {self.address}")]
        return list(dict.fromkeys(names))

    # -- zarr's async API --------------------------------------------------------

    async def get(
        self, key: str, prototype: BufferPrototype | None = None, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await asyncio.to_thread(self.get_sync, key, prototype=prototype, byte_range=byte_range)

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        return await asyncio.to_thread(self._get_values, prototype, list(key_ranges))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._exists, key)

    async def set(self, key: str, value: Buffer) -> None:
        await asyncio.to_thread(self._set_values, [(key, value)])

    async def set_if_not_exists(self, key: str, value: Buffer) -> None:
        await asyncio.to_thread(self._set_values, [(key, value)], only_new=True)

    async def _set_many(self, values: Iterable[tuple[str, Buffer]]) -> None:
        await asyncio.to_thread(self._set_values, list(values))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete_keys, [key])

    async def delete_dir(self, prefix: str) -> None:
        self._check_writable()
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        keys = await asyncio.to_thread(self._prefixed, prefix)
        await asyncio.to_thread(self._delete_keys, keys)

    async def getsize(self, key: str) -> int:
        size = (await asyncio.to_thread(self._sizes, [key]))[0]
        if size is None:
            raise FileNotFoundError(f"zarr key {key!r} is not in {self}")
        return size

    async def getsize_prefix(self, prefix: str) -> int:
        keys = await asyncio.to_thread(self._prefixed, prefix)
        return sum(size or 0 for size in await asyncio.to_thread(self._sizes, keys))

    async def list(self) -> AsyncIterator[str]:
        for key in await asyncio.to_thread(self._prefixed, ""):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for key in await asyncio.to_thread(self._prefixed, prefix):
            yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        for key in await asyncio.to_thread(self._children, prefix):
            yield key
