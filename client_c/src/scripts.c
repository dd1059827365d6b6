/*
 * scripts.c: Lua scripts the client runs inside the store.
 *
 * sd__cleanup_script MUST stay byte-identical to CLEANUP_CHUNKS in
 * simdask/client/scripts.py (docs/protocol.md): every client sends the same
 * text, so the store caches one compiled copy. tests/client_c checks it
 * (by this source and by the script cache of a live store).
 */
#include "sd_internal.h"

/* BEGIN CLEANUP_CHUNKS */
const char sd__cleanup_script[] =
    "local removed = 0\n"
    "for i, k in ipairs(KEYS) do\n"
    "  if redis.call('TYPE', k).ok == 'string' then\n"
    "    local h = redis.call('GETRANGE', k, 0, 15)\n"
    "    if string.len(h) == 16 and string.sub(h, 1, 4) == 'SDT\\1' and bit.band(string.byte(h, 8), 1) == 1 then\n"
    "      local off = struct.unpack('<I4', string.sub(h, 13, 16))\n"
    "      local ref = redis.call('GETRANGE', k, off, off + 31)\n"
    "      if string.len(ref) == 32 then\n"
    "        local n, zero = struct.unpack('<I4I4', string.sub(ref, 1, 8))\n"
    "        if zero == 0 and n <= 1048576 then\n"
    "          local hex = string.gsub(string.sub(ref, 17, 32), '.', function(c)\n"
    "            return string.format('%02x', string.byte(c)) end)\n"
    "          for j = 0, n - 1 do redis.call('UNLINK', ARGV[i] .. hex .. ':' .. j) end\n"
    "          removed = removed + n\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return removed\n";
/* END CLEANUP_CHUNKS */

const size_t sd__cleanup_script_len = sizeof sd__cleanup_script - 1;
