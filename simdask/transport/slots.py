"""Cluster key slots: CRC16 (XMODEM) of a key's hash tag, modulo 16384."""

from __future__ import annotations

from binascii import crc_hqx

from ..wire import hash_tag

__all__ = ["SLOT_COUNT", "key_slot"]

SLOT_COUNT = 16384


def key_slot(key: str | bytes) -> int:
    """The cluster slot of ``key``, honouring ``{hash tags}`` as the server does.

    >>> key_slot("foo") == key_slot("{foo}.meta")
    True
    """
    if isinstance(key, str):
        tag = hash_tag(key)
        return crc_hqx((key if tag is None else tag).encode(), 0) % SLOT_COUNT
    # latin-1 maps each byte to one character, so the tag's text is the tag's bytes
    text = key.decode("latin-1")
    tag = hash_tag(text)
    return crc_hqx((text if tag is None else tag).encode("latin-1"), 0) % SLOT_COUNT
