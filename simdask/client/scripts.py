"""Lua scripts the clients run inside the store.

The text of each script is part of the protocol (``docs/protocol.md``): the C
client sends the same bytes, so the store caches one compiled copy.
"""

from __future__ import annotations

__all__ = ["CLEANUP_CHUNKS"]

#: ``EVAL CLEANUP_CHUNKS 1 <head key> <chunk key prefix>``: unlink the chunks
#: of the chunked tensor currently stored at the head key, if there is one.
#: Returns the number of chunks removed. Never fails on foreign data, and
#: ignores chunk references that cannot be real (over 2**20 chunks).
CLEANUP_CHUNKS = """\
local k = KEYS[1]
if redis.call('TYPE', k).ok ~= 'string' then return 0 end
local h = redis.call('GETRANGE', k, 0, 15)
if string.len(h) < 16 or string.sub(h, 1, 4) ~= 'SDT\\1' then return 0 end
if bit.band(string.byte(h, 8), 1) == 0 then return 0 end
local off = struct.unpack('<I4', string.sub(h, 13, 16))
local ref = redis.call('GETRANGE', k, off, off + 31)
if string.len(ref) ~= 32 then return 0 end
local n, zero = struct.unpack('<I4I4', string.sub(ref, 1, 8))
if zero ~= 0 or n > 1048576 then return 0 end
local hex = string.gsub(string.sub(ref, 17, 32), '.', function(c)
  return string.format('%02x', string.byte(c)) end)
for i = 0, n - 1 do redis.call('UNLINK', ARGV[1] .. hex .. ':' .. i) end
return n
"""
