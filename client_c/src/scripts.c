/*
 * scripts.c: Lua scripts the client runs inside the store.
 *
 * Each script MUST stay byte-identical to its namesake in
 * simdask/protocol/scripts.py (docs/protocol.md): sd__cleanup_script is
 * CLEANUP_CHUNKS, sd__begin_run_script BEGIN_RUN, sd__end_run_script END_RUN,
 * sd__submit_script SUBMIT (LOOP_ALIVE is the serving loops' own: no C copy).
 * Every client sends the same text, so the store caches one compiled copy.
 * tests/client_c checks it (by this source and by the script cache of a live
 * store).
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

/* BEGIN BEGIN_RUN */
const char sd__begin_run_script[] =
    "local base = KEYS[1]\n"
    "local token, w, nw = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "local now = redis.call('TIME')\n"
    "local t = now[1] .. '.' .. string.format('%06d', tonumber(now[2]))\n"
    "local n = redis.call('HGET', base, 'tok:' .. token)\n"
    "if n then\n"
    "  local run = base .. ':' .. n\n"
    "  if redis.call('HEXISTS', run, 'w:' .. w) == 1 then\n"
    "    n = false\n"
    "  elseif tonumber(redis.call('HGET', run, 'writers')) ~= nw then\n"
    "    return redis.error_reply('ERR run ' .. n .. ' has ' .. redis.call('HGET', run, 'writers')\n"
    "      .. ' writers, this writer says ' .. nw)\n"
    "  end\n"
    "end\n"
    "if not n then\n"
    "  n = redis.call('HINCRBY', base, 'seq', 1)\n"
    "  redis.call('HSET', base, 'tok:' .. token, n, 'current', n)\n"
    "  redis.call('HSET', base .. ':' .. n, 'token', token, 'writers', nw, 'began', t, 'ended', 0)\n"
    "end\n"
    "local run = base .. ':' .. n\n"
    "redis.call('HSET', run, 'w:' .. w, cjson.encode({host = ARGV[4], pid = tonumber(ARGV[5]), began = t}))\n"
    "redis.call('SET', run .. ':alive:' .. w, '1', 'PX', ARGV[6])\n"
    "return tonumber(n)\n";
/* END BEGIN_RUN */

const size_t sd__begin_run_script_len = sizeof sd__begin_run_script - 1;

/* BEGIN END_RUN */
const char sd__end_run_script[] =
    "local run = KEYS[1] .. ':' .. ARGV[1]\n"
    "local rec = redis.call('HGET', run, 'w:' .. ARGV[2])\n"
    "if not rec then\n"
    "  return redis.error_reply('ERR writer ' .. ARGV[2] .. ' has not begun run ' .. ARGV[1])\n"
    "end\n"
    "local doc = cjson.decode(rec)\n"
    "if doc.ended == nil then\n"
    "  local now = redis.call('TIME')\n"
    "  doc.ended = now[1] .. '.' .. string.format('%06d', tonumber(now[2]))\n"
    "  redis.call('HSET', run, 'w:' .. ARGV[2], cjson.encode(doc))\n"
    "  redis.call('HINCRBY', run, 'ended', 1)\n"
    "end\n"
    "redis.call('DEL', run .. ':alive:' .. ARGV[2])\n"
    "return tonumber(redis.call('HGET', run, 'ended'))\n";
/* END END_RUN */

const size_t sd__end_run_script_len = sizeof sd__end_run_script - 1;

/* BEGIN SUBMIT */
const char sd__submit_script[] =
    "local now = redis.call('TIME')\n"
    "local ms = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))\n"
    "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)\n"
    "if redis.call('ZCARD', KEYS[1]) == 0 then\n"
    "  redis.call('RPUSH', KEYS[3], 'ERR ' .. ARGV[2])\n"
    "  redis.call('EXPIRE', KEYS[3], ARGV[1])\n"
    "  return 0\n"
    "end\n"
    "local stream = KEYS[2]\n"
    "if #KEYS == 5 then\n"
    "  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ms)\n"
    "  if redis.call('ZCARD', KEYS[4]) > 0 then stream = KEYS[5] end\n"
    "end\n"
    "return redis.call('XADD', stream, '*', unpack(ARGV, 3))\n";
/* END SUBMIT */

const size_t sd__submit_script_len = sizeof sd__submit_script - 1;
