// The Lua scripts of the Redis record store: each runs atomically on the server, over one
// record's four keys (same hash tag, so same cluster slot):
//   KEYS[1] record hash: fp, owner, state, total, info, ret (retention ms), max (bytes), bytes
//   KEYS[2] lease: the owner's id, with the lease as its TTL (gone = lapsed)
//   KEYS[3] started items: a set of indexes
//   KEYS[4] answers: a hash, index → answer bytes
// Every key has a TTL: a running record's keys `lease + retention` from the last claim or
// renewal, a finished one's `retention` from finish. Scripts use no server time (TIME), only
// TTLs, so they behave the same on every Redis version and replica.

const PRELUDE = `
local rec, lease, started, answers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function expire_all(ms)
  redis.call('PEXPIRE', rec, ms)
  redis.call('PEXPIRE', started, ms)
  redis.call('PEXPIRE', answers, ms)
end

local function record()
  local h = redis.call('HMGET', rec, 'fp', 'owner', 'state', 'total', 'info', 'bytes')
  local lapsed = 0
  if h[3] == 'running' and redis.call('EXISTS', lease) == 0 then lapsed = 1 end
  return { h[1], h[2], h[3], tonumber(h[4]), h[5], tonumber(h[6]), lapsed,
    redis.call('SMEMBERS', started), redis.call('HGETALL', answers) }
end

local function status(owner)
  local h = redis.call('HMGET', rec, 'owner', 'state')
  if h[1] ~= owner then return 'lost' end
  if h[2] == 'cancelled' then return 'cancelled' end
  return 'ok'
end
`;

/** ARGV: fingerprint, owner, leaseMs, retentionMs, total, info, maxBytes. */
export const CLAIM = `${PRELUDE}
local fp, owner, lease_ms, retention = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local life = lease_ms + tonumber(retention)
local state = redis.call('HGET', rec, 'state')
if not state then
  redis.call('DEL', started, answers)
  redis.call('HSET', rec, 'fp', fp, 'owner', owner, 'state', 'running', 'total', ARGV[5],
    'info', ARGV[6], 'ret', retention, 'max', ARGV[7], 'bytes', 0)
  redis.call('SET', lease, owner, 'PX', lease_ms)
  redis.call('PEXPIRE', rec, life)
  return { 'new' }
end
if redis.call('HGET', rec, 'fp') ~= fp then return { 'mismatch' } end
if state == 'finished' then return { 'finished', record() } end
if state == 'running' then
  local left = redis.call('PTTL', lease)
  if left > 0 then return { 'running', left, redis.call('HGET', rec, 'info') } end
end
redis.call('HSET', rec, 'owner', owner, 'state', 'running', 'ret', retention, 'max', ARGV[7])
redis.call('SET', lease, owner, 'PX', lease_ms)
expire_all(life)
return { 'takeover', record() }
`;

/** ARGV: owner, leaseMs. */
export const RENEW = `${PRELUDE}
local s = status(ARGV[1])
if s ~= 'ok' then return s end
if redis.call('HGET', rec, 'state') == 'running' then
  local lease_ms = tonumber(ARGV[2])
  redis.call('SET', lease, ARGV[1], 'PX', lease_ms)
  expire_all(lease_ms + tonumber(redis.call('HGET', rec, 'ret')))
end
return 'ok'
`;

/** ARGV: owner, index… Replies `{ status }` or `{ 'range', index, total }`. */
export const STARTED = `${PRELUDE}
local s = status(ARGV[1])
if s ~= 'ok' then return { s } end
local total = tonumber(redis.call('HGET', rec, 'total'))
for i = 2, #ARGV do
  if tonumber(ARGV[i]) >= total then return { 'range', tonumber(ARGV[i]), total } end
end
for i = 2, #ARGV do redis.call('SADD', started, ARGV[i]) end
redis.call('PEXPIRE', started, redis.call('PTTL', rec))
return { s }
`;

/**
 * ARGV: owner, then index, bytes, index, bytes… Replies `{ status }`, `{ 'range', index,
 * total }` or `{ 'too_large', bytes, maxBytes }` (nothing written).
 */
export const APPEND = `${PRELUDE}
local s = status(ARGV[1])
if s == 'lost' then return { s } end
local h = redis.call('HMGET', rec, 'total', 'max', 'bytes')
local total, max, bytes = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
local final, order = {}, {}
for i = 2, #ARGV, 2 do
  local index = ARGV[i]
  if tonumber(index) >= total then return { 'range', tonumber(index), total } end
  if final[index] == nil then order[#order + 1] = index end
  final[index] = ARGV[i + 1]
end
for _, index in ipairs(order) do
  bytes = bytes - redis.call('HSTRLEN', answers, index) + #final[index]
end
if bytes > max then return { 'too_large', bytes, max } end
for _, index in ipairs(order) do redis.call('HSET', answers, index, final[index]) end
redis.call('HSET', rec, 'bytes', bytes)
redis.call('PEXPIRE', answers, redis.call('PTTL', rec))
return { s }
`;

/** ARGV: owner, retentionMs. */
export const FINISH = `${PRELUDE}
local s = status(ARGV[1])
if s == 'lost' then return s end
if s == 'ok' then redis.call('HSET', rec, 'state', 'finished') end
redis.call('HSET', rec, 'ret', ARGV[2])
redis.call('DEL', lease)
expire_all(tonumber(ARGV[2]))
return s
`;

/** Replies 1 when there was a record to cancel, else 0. */
export const CANCEL = `${PRELUDE}
if redis.call('EXISTS', rec) == 0 then return 0 end
redis.call('HSET', rec, 'state', 'cancelled')
redis.call('DEL', lease)
return 1
`;

/** Replies the record, or nil. */
export const READ = `${PRELUDE}
if redis.call('EXISTS', rec) == 0 then return false end
return record()
`;
