"""Cluster key slots: CRC16 (XMODEM) of a key's hash tag, modulo 16384."""

from __future__ import annotations

__all__ = ["SLOT_COUNT", "key_slot"]

SLOT_COUNT = 16384


def _make_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_TABLE = _make_table()


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def key_slot(key: str | bytes) -> int:
    """The cluster slot of ``key``, honouring ``{hash tags}`` as the server does.

    >>> key_slot("foo") == key_slot("{foo}.meta")
    True
    """
    raw = key.encode() if isinstance(key, str) else key
    start = raw.find(b"{")
    if start >= 0:
        end = raw.find(b"}", start + 1)
        if end > start + 1:
            raw = raw[start + 1 : end]
    return _crc16(raw) % SLOT_COUNT
