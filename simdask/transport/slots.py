"""Cluster key slots: CRC16 (XMODEM) of a key's hash tag, modulo 16384."""

from __future__ import annotations

from binascii import crc_hqx

__all__ = ["SLOT_COUNT", "key_slot"]

SLOT_COUNT = 16384


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
    return crc_hqx(raw, 0) % SLOT_COUNT
