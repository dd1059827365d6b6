"""Lua scripts the clients run inside the store.

The text of each script is part of the protocol (``docs/protocol.md``): the C
client sends the same bytes, so the store caches one compiled copy.
"""

from __future__ import annotations

__all__ = ["BEGIN_RUN", "CLEANUP_CHUNKS", "END_RUN", "LOOP_ALIVE", "RUN_INFO", "SUBMIT"]

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

#: ``EVAL BEGIN_RUN 1 <registry> <token> <writer> <writers> <host> <pid> <lease ms>``: join the run of
#: ``token`` (or begin the group's next run when there is none, or when this writer index already
#: took part in it: a rerun under a reused launcher id) and return its number. The run's hash and
#: heartbeat keys are ``<registry>:<n>`` and ``<registry>:<n>:alive:<writer>`` (same hash tag).
BEGIN_RUN = """\
local base = KEYS[1]
local token, w, nw = ARGV[1], ARGV[2], tonumber(ARGV[3])
local now = redis.call('TIME')
local t = now[1] .. '.' .. string.format('%06d', tonumber(now[2]))
local n = redis.call('HGET', base, 'tok:' .. token)
if n then
  local run = base .. ':' .. n
  if redis.call('HEXISTS', run, 'w:' .. w) == 1 then
    n = false
  elseif tonumber(redis.call('HGET', run, 'writers')) ~= nw then
    return redis.error_reply('ERR run ' .. n .. ' has ' .. redis.call('HGET', run, 'writers')
      .. ' writers, this writer says ' .. nw)
  end
end
if not n then
  n = redis.call('HINCRBY', base, 'seq', 1)
  redis.call('HSET', base, 'tok:' .. token, n, 'current', n)
  redis.call('HSET', base .. ':' .. n, 'token', token, 'writers', nw, 'began', t, 'ended', 0)
end
local run = base .. ':' .. n
redis.call('HSET', run, 'w:' .. w, cjson.encode({host = ARGV[4], pid = tonumber(ARGV[5]), began = t}))
redis.call('SET', run .. ':alive:' .. w, '1', 'PX', ARGV[6])
return tonumber(n)
"""

#: ``EVAL END_RUN 1 <registry> <run> <writer>``: record that the writer has ended its part of the
#: run (once: ending twice counts once), drop its heartbeat, return how many writers have ended.
END_RUN = """\
local run = KEYS[1] .. ':' .. ARGV[1]
local rec = redis.call('HGET', run, 'w:' .. ARGV[2])
if not rec then
  return redis.error_reply('ERR writer ' .. ARGV[2] .. ' has not begun run ' .. ARGV[1])
end
local doc = cjson.decode(rec)
if doc.ended == nil then
  local now = redis.call('TIME')
  doc.ended = now[1] .. '.' .. string.format('%06d', tonumber(now[2]))
  redis.call('HSET', run, 'w:' .. ARGV[2], cjson.encode(doc))
  redis.call('HINCRBY', run, 'ended', 1)
end
redis.call('DEL', run .. ':alive:' .. ARGV[2])
return tonumber(redis.call('HGET', run, 'ended'))
"""

#: ``EVAL RUN_INFO 1 <registry> <run>``: what a reader needs of run ``<run>``, read at one instant:
#: ``{HGETALL <registry>:<run>, TIME, {EXISTS <registry>:<run>:alive:<i> for each writer i}}``. Read
#: apart, a writer that ends between the record and its heartbeat (``END_RUN`` drops it) would look dead.
#: Python readers only; it writes nothing.
RUN_INFO = """\
local run = KEYS[1] .. ':' .. ARGV[1]
local alive = {}
local writers = tonumber(redis.call('HGET', run, 'writers')) or 0
for i = 0, writers - 1 do alive[i + 1] = redis.call('EXISTS', run .. ':alive:' .. i) end
return {redis.call('HGETALL', run), redis.call('TIME'), alive}
"""

#: ``EVAL SUBMIT 5 <loops> <stream> <reply key> <node loops> <node stream> <reply ttl s> <message> <field>
#: <value> ...``: append a run request (``XADD <stream> * <field> <value> ...``) and return its id, when a
#: serving loop is alive: ``<loops>`` is a sorted set of loops scored by the store time (ms) their lease
#: ends, ``<node loops>`` the same for the loops on the caller's node. Expired entries are dropped first;
#: when a loop of the caller's node is alive the request goes to ``<node stream>`` instead (node routing).
#: When no loop at all is left, the reply key gets ``ERR <message>`` (expiring after the reply TTL) and
#: nothing is appended: the caller's ``BLPOP`` returns at once. Returns 0 then. ``EVAL SUBMIT 3`` (the
#: first three keys only) sends to ``<stream>`` as a caller before node routing did.
SUBMIT = """\
local now = redis.call('TIME')
local ms = string.format('%.0f', tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('RPUSH', KEYS[3], 'ERR ' .. ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[1])
  return 0
end
local stream = KEYS[2]
if #KEYS == 5 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ms)
  if redis.call('ZCARD', KEYS[4]) > 0 then stream = KEYS[5] end
end
return redis.call('XADD', stream, '*', unpack(ARGV, 3))
"""

#: ``EVAL LOOP_ALIVE 1 <loops> <lease ms> <consumer> ...``: a serving loop's heartbeat: each consumer's
#: lease in the sorted set ``<loops>`` ends ``<lease ms>`` from now (store time). ``EVAL LOOP_ALIVE 3 <loops>
#: <node loops> <nodes> <lease ms> <node> <consumer> ...``: the same, also in ``<node loops>`` (the loops of
#: ``<node>``), and ``<node>``'s score in the sorted set ``<nodes>`` is raised to that end (the last lease of
#: any of its loops). Returns the store time (ms).
LOOP_ALIVE = """\
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local expiry = string.format('%.0f', ms + tonumber(ARGV[1]))
local first = 2
if #KEYS == 3 then
  redis.call('ZADD', KEYS[3], 'GT', expiry, ARGV[2])
  first = 3
end
for k = 1, math.min(#KEYS, 2) do
  for i = first, #ARGV do redis.call('ZADD', KEYS[k], expiry, ARGV[i]) end
end
return ms
"""
