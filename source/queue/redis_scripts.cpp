#include "redis_scripts.h"

namespace hookd::redis_scripts {

const char* const kAppend = R"lua(
local out = {}
local n = (#ARGV - 3) / 4
for i = 0, n - 1 do
  local b = 4 + i * 4
  local fresh = redis.call('SET', ARGV[3] .. ARGV[b], '1', 'NX', 'EX', ARGV[1])
  if fresh then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*',
               'e', ARGV[b + 1], 'a', ARGV[b + 2], 'm', ARGV[b + 3])
    out[#out + 1] = 0
  else
    out[#out + 1] = 1
  end
end
return out
)lua";

const char* const kClaim = R"lua(
local stream, dead, retries = KEYS[1], KEYS[2], KEYS[3]
local group, me = ARGV[1], ARGV[2]
local idle, most, count = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local buried = 0
local pending = redis.call('XPENDING', stream, group, 'IDLE', idle, '-', '+', count)
for _, p in ipairs(pending) do
  if tonumber(p[4]) >= most then
    local fields = {'group', group, 'entry', p[1], 'deliveries', tostring(p[4])}
    local entry = redis.call('XRANGE', stream, p[1], p[1])
    if #entry > 0 then
      for _, v in ipairs(entry[1][2]) do fields[#fields + 1] = v end
    end
    redis.call('XADD', dead, '*', unpack(fields))
    redis.call('XACK', stream, group, p[1])
    redis.call('HDEL', retries, p[1])
    buried = buried + 1
  end
end
local claimed = redis.call('XAUTOCLAIM', stream, group, me, idle, ARGV[6], 'COUNT', count)
local notes = {}
for _, entry in ipairs(claimed[2]) do
  local note = redis.call('HGET', retries, entry[1])
  if note then
    notes[#notes + 1] = entry[1]
    notes[#notes + 1] = note
  end
end
return {claimed[1], claimed[2], buried, notes}
)lua";

const char* const kTrim = R"lua(
local stream = KEYS[1]
if redis.call('EXISTS', stream) == 0 then return 0 end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function older(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local floor = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local keep = info['last-delivered-id']
  if tonumber(info['pending']) > 0 then
    keep = redis.call('XPENDING', stream, info['name'])[2]
  end
  if floor == nil or older(keep, floor) then floor = keep end
end
if floor == nil then return 0 end
return redis.call('XTRIM', stream, 'MINID', floor)
)lua";

const char* const kHeartbeat = R"lua(
local stream, group, me = KEYS[1], ARGV[1], ARGV[2]
local mine = 0
for i = 3, #ARGV do
  local p = redis.call('XPENDING', stream, group, ARGV[i], ARGV[i], 1)
  if #p > 0 and p[1][2] == me then
    redis.call('XCLAIM', stream, group, me, 0, ARGV[i], 'JUSTID')
    mine = mine + 1
  end
end
return mine
)lua";

const char* const kAck = R"lua(
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, 2))
redis.call('HDEL', KEYS[2], unpack(ARGV, 2))
return acked
)lua";

const char* const kDeadLettersChange = R"lua(
if ARGV[1] == 'add' then
  for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
else
  for i = 2, #ARGV do redis.call('HDEL', KEYS[1], ARGV[i]) end
end
local n = redis.call('HLEN', KEYS[1])
redis.call('HSET', KEYS[2], 'dead_letters', n)
return n
)lua";

const char* const kDeadLettersReplay = R"lua(
local since, till = tonumber(ARGV[2]), tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
local queued = 0
for i = 1, #all, 2 do
  local ok, letter = pcall(cjson.decode, all[i + 1])
  local at = ok and type(letter) == 'table' and tonumber(letter['arrival_unix_ms']) or 0
  if (since == nil or at >= since) and (till == nil or at <= till) then
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',
               'i', all[i], 'd', all[i + 1], 'o', ARGV[1])
    redis.call('HDEL', KEYS[1], all[i])
    queued = queued + 1
  end
end
redis.call('HSET', KEYS[2], 'dead_letters', redis.call('HLEN', KEYS[1]))
return queued
)lua";

}  // namespace hookd::redis_scripts
