"""simdask.ZarrStore passes zarr's own store conformance suite, on a standalone store and a 3-shard cluster."""

from __future__ import annotations

import uuid

import pytest
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import Buffer, cpu, default_buffer_prototype
from zarr.testing.store import StoreTests

import simdask
from simdask.bridge.zarr_store import ZarrStore


@pytest.fixture(scope="module", params=["standalone", "cluster"])
def zarr_backing(request):
    """(address, redis-py client) of a real store of each kind, to check and bypass ZarrStore."""
    store = request.getfixturevalue(f"{request.param}_store")
    with simdask.Client(store.address) as client:
        client.flush()
        raw = client.redis()
        yield store.address, raw
        raw.close()


class TestZarrStore(StoreTests[ZarrStore, cpu.Buffer]):
    store_cls = ZarrStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, zarr_backing) -> dict:
        return {"name": f"zarr-tests/{uuid.uuid4().hex}", "address": zarr_backing[0]}

    @pytest.fixture(autouse=True)
    def _backdoor(self, zarr_backing) -> None:
        self.raw = zarr_backing[1]

    # The suite's own backdoor: write and read the documented key layout with redis-py, not ZarrStore.
    async def set(self, store: ZarrStore, key: str, value: Buffer) -> None:
        raw = self.raw
        raw.set(f"{store.name}/{key}", value.to_bytes())
        raw.zadd(f"simdask:zarr:{{{store.name}}}", {key: 0})

    async def get(self, store: ZarrStore, key: str) -> Buffer:
        return self.buffer_cls.from_bytes(self.raw.get(f"{store.name}/{key}"))

    def test_store_repr(self, store: ZarrStore) -> None:
        assert repr(store) == f"ZarrStore({store.name!r}, {store.address!r})"
        assert str(store) == f"simdask://{store.address}/{store.name}"

    def test_store_supports_writes(self, store: ZarrStore) -> None:
        assert store.supports_writes

    def test_store_supports_listing(self, store: ZarrStore) -> None:
        assert store.supports_listing


@pytest.fixture
def zstore(zarr_backing):
    return ZarrStore(f"zarr-tests/{uuid.uuid4().hex}", zarr_backing[0])


def _buffers(*values: bytes) -> list[Buffer]:
    return [cpu.Buffer.from_bytes(v) for v in values]


async def test_key_layout_is_the_documented_one(zstore, zarr_backing):
    raw = zarr_backing[1]
    await zstore.set("u/c/0/1", cpu.Buffer.from_bytes(b"abc"))
    assert raw.get(f"{zstore.name}/u/c/0/1") == b"abc"
    assert raw.zrange(f"simdask:zarr:{{{zstore.name}}}", 0, -1) == [b"u/c/0/1"]
    await zstore.delete("u/c/0/1")
    assert not raw.exists(f"{zstore.name}/u/c/0/1", f"simdask:zarr:{{{zstore.name}}}")


async def test_listing_pages_and_skips_subtrees(zstore, monkeypatch):
    from simdask.bridge import zarr_store

    monkeypatch.setattr(zarr_store, "_PAGE", 7)
    keys = [f"big/c/{i}/{j}" for i in range(30) for j in range(20)] + ["big/zarr.json", "a", "b/zarr.json", "big-x"]
    await zstore._set_many(zip(keys, _buffers(*[b"x"] * len(keys))))
    assert sorted([k async for k in zstore.list()]) == sorted(keys)
    assert len([k async for k in zstore.list_prefix("big/c/")]) == 600
    assert sorted([k async for k in zstore.list_dir("")]) == ["a", "b", "big", "big-x"]
    assert sorted([k async for k in zstore.list_dir("big")]) == ["c", "zarr.json"]
    assert len([k async for k in zstore.list_dir("big/c/")]) == 30
    assert await zstore.getsize_prefix("big/c/3") == 20
    await zstore.delete_dir("big")
    assert sorted([k async for k in zstore.list()]) == ["a", "b/zarr.json", "big-x"]


async def test_byte_ranges_at_the_edges(zstore):
    await zstore.set("k", cpu.Buffer.from_bytes(b"0123456789"))
    prototype = default_buffer_prototype()
    cases = {
        RangeByteRequest(2, 5): b"234",
        RangeByteRequest(3, 3): b"",
        RangeByteRequest(8, 20): b"89",
        OffsetByteRequest(7): b"789",
        OffsetByteRequest(20): b"",
        SuffixByteRequest(3): b"789",
        SuffixByteRequest(0): b"",
        SuffixByteRequest(30): b"0123456789",
    }
    for request, expected in cases.items():
        assert (await zstore.get("k", prototype, byte_range=request)).to_bytes() == expected, request
    assert await zstore.get("missing", prototype, byte_range=RangeByteRequest(0, 1)) is None
    partial = await zstore.get_partial_values(prototype, [("k", None), ("missing", None), ("k", SuffixByteRequest(1))])
    assert [None if b is None else b.to_bytes() for b in partial] == [b"0123456789", None, b"9"]


def test_names_that_cannot_be_stores(zarr_backing):
    for bad in ("", "/", "a{b}", "simdask:x"):
        with pytest.raises(ValueError):
            ZarrStore(bad, zarr_backing[0])
