"""Lua scripts the clients run inside the store.

The text of each script is part of the protocol (``docs/protocol.md``): the C
client sends the same bytes, so the store caches one compiled copy.
"""

from __future__ import annotations

__all__ = ["CLEANUP_CHUNKS"]

#: ``EVAL CLEANUP_CHUNKS n <head key 1> ... <head key n> <chunk key prefix 1> ... <prefix n>``:
#: unlink the chunks of every chunked tensor currently stored at the head keys
#: (usually one key). Returns the number of chunks removed. Never fails on
#: foreign data, and ignores chunk references that cannot be real (over 2**20
#: chunks).
CLEANUP_CHUNKS = """\
local removed = 0
for i, k in ipairs(KEYS) do
  if redis.call('TYPE', k).ok == 'string' then
    local h = redis.call('GETRANGE', k, 0, 15)
    if string.len(h) == 16 and string.sub(h, 1, 4) == 'SDT\\1' and bit.band(string.byte(h, 8), 1) == 1 then
      local off = struct.unpack('<I4', string.sub(h, 13, 16))
      local ref = redis.call('GETRANGE', k, off, off + 31)
      if string.len(ref) == 32 then
        local n, zero = struct.unpack('<I4I4', string.sub(ref, 1, 8))
        if zero == 0 and n <= 1048576 then
          local hex = string.gsub(string.sub(ref, 17, 32), '.', function(c)
            return string.format('%02x', string.byte(c)) end)
          for j = 0, n - 1 do redis.call('UNLINK', ARGV[i] .. hex .. ':' .. j) end
          removed = removed + n
        end
      end
    end
  end
end
return removed
"""
