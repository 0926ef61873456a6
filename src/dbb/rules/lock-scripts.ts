// Lock and replica transitions as Lua scripts: each runs atomically in Redis,
// so a lock's state, its rule's counters, the replica's lock count, tombstone
// and the transfer ledger never disagree, whichever process crashes. Keys are
// built inside the scripts (single Redis, not Redis Cluster) from the layout
// in catalog/keys.ts; a DID is `scope:name`, an RSE name never holds ':'.
import type { ChainableCommander, Redis } from "ioredis";

/** Helpers every script starts with (the reaper's scripts reuse them). */
export const PRELUDE = `
local function replicaKey(rse, did) return 'dbb:replica:' .. rse .. ':' .. did end
local function ruleKey(id) return 'dbb:rule:' .. id end
local function ruleLocksKey(id) return 'dbb:rule-locks:' .. id end
local function fileLocksKey(did) return 'dbb:file-locks:' .. did end
local function setTombstone(rse, did, ts)
  redis.call('HSET', replicaKey(rse, did), 'tombstone', ts)
  redis.call('ZADD', 'dbb:tombstones:' .. rse, ts, did)
end
local function clearTombstone(rse, did)
  redis.call('HSET', replicaKey(rse, did), 'tombstone', '')
  redis.call('ZREM', 'dbb:tombstones:' .. rse, did)
end
local function setLock(ruleId, field, state)
  local old = redis.call('HGET', ruleLocksKey(ruleId), field)
  if (not old) or old == state then return old end
  redis.call('HSET', ruleLocksKey(ruleId), field, state)
  redis.call('HINCRBY', ruleKey(ruleId), 'locks' .. old, -1)
  redis.call('HINCRBY', ruleKey(ruleId), 'locks' .. state, 1)
  if state == 'STUCK' then
    redis.call('SADD', 'dbb:stuck-rules', ruleId)
    redis.call('HSET', ruleKey(ruleId), 'stuckAt', ARGV[1])
  end
  return old
end
-- Rule ids holding a lock on (did, rse).
local function locksAt(did, rse)
  local out = {}
  local suffix = ':' .. rse
  for _, m in ipairs(redis.call('SMEMBERS', fileLocksKey(did))) do
    if string.sub(m, -#suffix) == suffix then table.insert(out, string.sub(m, 1, #m - #suffix)) end
  end
  return out
end
local function setLocksAt(did, rse, state)
  for _, ruleId in ipairs(locksAt(did, rse)) do setLock(ruleId, rse .. ':' .. did, state) end
end
-- A transfer request in the ledger; returns its generation (the message id part).
local function enqueue(rse, did, ruleId, out)
  local gen = redis.call('INCR', 'dbb:transfer-gen')
  -- Rule ids are hex and times digits: the JSON needs no escaping.
  redis.call('HSET', 'dbb:transfers', rse .. ':' .. did, '{"gen":' .. gen .. ',"rule":"' .. ruleId .. '","queuedAt":' .. ARGV[1] .. '}')
  table.insert(out, rse); table.insert(out, did); table.insert(out, tostring(gen))
end
local function ensureCopying(rse, did, ruleId, out)
  local rkey = replicaKey(rse, did)
  redis.call('HSET', rkey, 'state', 'COPYING', 'updatedAt', ARGV[2])
  if redis.call('HEXISTS', 'dbb:transfers', rse .. ':' .. did) == 0 then enqueue(rse, did, ruleId, out) end
end
local function otherAvailable(did, rse)
  local n = 0
  for _, r in ipairs(redis.call('SMEMBERS', 'dbb:did-rses:' .. did)) do
    if r ~= rse and redis.call('HGET', replicaKey(r, did), 'state') == 'AVAILABLE' then n = n + 1 end
  end
  return n
end
-- Adds one lock. Counts that only sum up (rule lock counters, RSE usage) go
-- into acc and are written once per call: a lock costs as few Redis calls
-- as possible, since a rule may write 100,000 of them.
local function addLock(ruleId, rse, did, bytes, adler32, md5, path, out, acc)
  local rkey = replicaKey(rse, did)
  local r = redis.call('HMGET', rkey, 'state', 'tombstone')
  local state = r[1]
  local lock = 'REPLICATING'
  if state == 'AVAILABLE' then lock = 'OK' end
  if redis.call('HSETNX', ruleLocksKey(ruleId), rse .. ':' .. did, lock) == 0 then return end
  redis.call('SADD', fileLocksKey(did), ruleId .. ':' .. rse)
  acc[lock] = (acc[lock] or 0) + 1
  if not state then
    redis.call('HSET', rkey, 'rse', rse, 'state', 'COPYING', 'path', path, 'bytes', bytes, 'adler32', adler32, 'md5', md5,
      'updatedAt', ARGV[2], 'locks', 1, 'tombstone', '')
    redis.call('SADD', 'dbb:did-rses:' .. did, rse)
    redis.call('SADD', 'dbb:rse-replicas:' .. rse, did)
    acc.usage[rse] = (acc.usage[rse] or 0) + tonumber(bytes)
    enqueue(rse, did, ruleId, out)
    return
  end
  redis.call('HINCRBY', rkey, 'locks', 1)
  if r[2] and r[2] ~= '' then clearTombstone(rse, did) end
  -- BEING_DELETED: the reaper queues a transfer once its delete is done and it sees the lock.
  if state ~= 'AVAILABLE' and state ~= 'BEING_DELETED' then ensureCopying(rse, did, ruleId, out) end
end
local function newAcc() return { usage = {} } end
local function flushAcc(ruleId, acc)
  for _, s in ipairs({'OK', 'REPLICATING', 'STUCK'}) do
    if acc[s] then redis.call('HINCRBY', ruleKey(ruleId), 'locks' .. s, acc[s]) end
  end
  for rse, n in pairs(acc.usage) do redis.call('HINCRBY', 'dbb:rse-usage', rse, n) end
end
local function removeLock(ruleId, field)
  local state = redis.call('HGET', ruleLocksKey(ruleId), field)
  if not state then return end
  local i = string.find(field, ':', 1, true)
  local rse, did = string.sub(field, 1, i - 1), string.sub(field, i + 1)
  redis.call('HDEL', ruleLocksKey(ruleId), field)
  redis.call('HINCRBY', ruleKey(ruleId), 'locks' .. state, -1)
  redis.call('SREM', fileLocksKey(did), ruleId .. ':' .. rse)
  local rkey = replicaKey(rse, did)
  local rstate = redis.call('HGET', rkey, 'state')
  if not rstate then return end
  local n = redis.call('HINCRBY', rkey, 'locks', -1)
  if n <= 0 then
    redis.call('HSET', rkey, 'locks', 0)
    -- Rucio: the last lock gone, the replica gets a tombstone (now), and one
    -- that never arrived or is BAD is obsolete (epoch). A COPYING one gets
    -- its tombstone when its transfer ends.
    if rstate == 'AVAILABLE' then setTombstone(rse, did, ARGV[1])
    elseif rstate == 'BAD' or rstate == 'UNAVAILABLE' then setTombstone(rse, did, 0) end
  end
end
`;

/** ARGV: nowMs, nowIso, ruleId, then (rse, did, bytes, adler32, md5, path)…; returns (rse, did, gen)… to publish. */
const ADD_LOCKS = `${PRELUDE}
local out, acc = {}, newAcc()
for i = 4, #ARGV, 6 do addLock(ARGV[3], ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5], out, acc) end
flushAcc(ARGV[3], acc)
return out`;

/** ARGV: nowMs, nowIso, ruleId, field…: drops those locks of a rule. */
const REMOVE_LOCKS = `${PRELUDE}
for i = 4, #ARGV do removeLock(ARGV[3], ARGV[i]) end
return 1`;

/** ARGV: nowMs, nowIso, ruleId, oldField, then one addLock's (rse, did, bytes, adler32, md5, path): a repair. */
const MOVE_LOCK = `${PRELUDE}
local out, acc = {}, newAcc()
removeLock(ARGV[3], ARGV[4])
addLock(ARGV[3], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10], out, acc)
flushAcc(ARGV[3], acc)
return out`;

/** ARGV: nowMs, nowIso, ruleId, field: a STUCK lock tried again where it is. */
const RETRY_LOCK = `${PRELUDE}
local out = {}
local field = ARGV[4]
if redis.call('HGET', ruleLocksKey(ARGV[3]), field) ~= 'STUCK' then return out end
local i = string.find(field, ':', 1, true)
local rse, did = string.sub(field, 1, i - 1), string.sub(field, i + 1)
ensureCopying(rse, did, ARGV[3], out)
setLocksAt(did, rse, 'REPLICATING')
return out`;

/** ARGV: nowMs, nowIso, rse, did, gen, worker, ttlMs → {'done'} | {'busy'} | {'task', ruleId}. */
const CLAIM = `${PRELUDE}
local raw = redis.call('HGET', 'dbb:transfers', ARGV[3] .. ':' .. ARGV[4])
if not raw then return {'done'} end
local e = cjson.decode(raw)
if tostring(e.gen) ~= ARGV[5] then return {'done'} end
local now = tonumber(ARGV[1])
if e.claim and e.claim ~= ARGV[6] and tonumber(e.claimUntil) > now then return {'busy'} end
e.claim = ARGV[6]; e.claimUntil = now + tonumber(ARGV[7]); e.tries = (e.tries or 0) + 1
redis.call('HSET', 'dbb:transfers', ARGV[3] .. ':' .. ARGV[4], cjson.encode(e))
return {'task', e.rule or '', tostring(e.tries)}`;

/** ARGV: nowMs, nowIso, rse, did, gen, worker, ttlMs → 1 if the worker still holds the claim (now extended). */
const RENEW = `
local raw = redis.call('HGET', 'dbb:transfers', ARGV[3] .. ':' .. ARGV[4])
if not raw then return 0 end
local e = cjson.decode(raw)
if tostring(e.gen) ~= ARGV[5] or e.claim ~= ARGV[6] then return 0 end
e.claimUntil = tonumber(ARGV[1]) + tonumber(ARGV[7])
redis.call('HSET', 'dbb:transfers', ARGV[3] .. ':' .. ARGV[4], cjson.encode(e))
return 1`;

/** ARGV: nowMs, nowIso, rse, did, gen: a verified copy landed. */
const TRANSFER_DONE = `${PRELUDE}
local rse, did = ARGV[3], ARGV[4]
local raw = redis.call('HGET', 'dbb:transfers', rse .. ':' .. did)
if (not raw) or tostring(cjson.decode(raw).gen) ~= ARGV[5] then return 'stale' end
redis.call('HDEL', 'dbb:transfers', rse .. ':' .. did)
local rkey = replicaKey(rse, did)
redis.call('HSET', rkey, 'state', 'AVAILABLE', 'updatedAt', ARGV[2])
redis.call('HDEL', rkey, 'lastError')
setLocksAt(did, rse, 'OK')
if (tonumber(redis.call('HGET', rkey, 'locks')) or 0) <= 0 then setTombstone(rse, did, ARGV[1]) end
return 'ok'`;

/** ARGV: nowMs, nowIso, rse, did, gen, final ('1'|'0'), reason. */
const TRANSFER_FAILED = `${PRELUDE}
local rse, did = ARGV[3], ARGV[4]
local field = rse .. ':' .. did
local raw = redis.call('HGET', 'dbb:transfers', field)
if not raw then return 'stale' end
local e = cjson.decode(raw)
if tostring(e.gen) ~= ARGV[5] then return 'stale' end
local rkey = replicaKey(rse, did)
redis.call('HSET', rkey, 'lastError', ARGV[7])
if ARGV[6] == '1' then
  redis.call('HDEL', 'dbb:transfers', field)
  redis.call('HSET', rkey, 'state', 'UNAVAILABLE', 'updatedAt', ARGV[2])
  setLocksAt(did, rse, 'STUCK')
  if (tonumber(redis.call('HGET', rkey, 'locks')) or 0) <= 0 then setTombstone(rse, did, 0) end
else
  e.claim = nil; e.claimUntil = nil; e.lastError = ARGV[7]
  redis.call('HSET', 'dbb:transfers', field, cjson.encode(e))
end
return 'ok'`;

/**
 * ARGV: nowMs, nowIso, did, rse, reason. Rucio's declare-bad: the replica is
 * BAD; its locks go back to REPLICATING and it is copied again when another
 * copy is AVAILABLE, else they are STUCK. Returns {state, (rse, did, gen)…}.
 */
const DECLARE_BAD = `${PRELUDE}
local did, rse = ARGV[3], ARGV[4]
local rkey = replicaKey(rse, did)
local state = redis.call('HGET', rkey, 'state')
-- A replica the reaper is deleting is gone for readers: nothing to declare.
if (not state) or state == 'BEING_DELETED' then return {'ABSENT'} end
local others = otherAvailable(did, rse)
redis.call('HSET', rkey, 'state', 'BAD', 'updatedAt', ARGV[2], 'lastError', ARGV[5])
local out = {}
local holders = locksAt(did, rse)
if #holders > 0 then
  if others > 0 then
    ensureCopying(rse, did, holders[1], out)
    setLocksAt(did, rse, 'REPLICATING')
    table.insert(out, 1, 'COPYING')
    return out
  end
  setLocksAt(did, rse, 'STUCK')
elseif others > 0 then
  setTombstone(rse, did, 0)
end
table.insert(out, 1, 'BAD')
return out`;

/**
 * ARGV: nowMs, nowIso, ruleId ('' for none), did…: for each file six values —
 * type, bytes, adler32, md5, "rse=state,…" of its replicas, "rse,…" the rule
 * locks it at. One call reads a batch that would take three commands per file.
 */
const READ_FILES = `
local out = {}
local prefix = ARGV[3] .. ':'
for i = 4, #ARGV do
  local did = ARGV[i]
  local f = redis.call('HMGET', 'dbb:did:' .. did, 'type', 'bytes', 'adler32', 'md5')
  local reps = {}
  for _, rse in ipairs(redis.call('SMEMBERS', 'dbb:did-rses:' .. did)) do
    local st = redis.call('HGET', 'dbb:replica:' .. rse .. ':' .. did, 'state')
    if st then table.insert(reps, rse .. '=' .. st) end
  end
  local locked = {}
  if ARGV[3] ~= '' then
    for _, m in ipairs(redis.call('SMEMBERS', 'dbb:file-locks:' .. did)) do
      if string.sub(m, 1, #prefix) == prefix then table.insert(locked, string.sub(m, #prefix + 1)) end
    end
  end
  table.insert(out, f[1] or ''); table.insert(out, f[2] or ''); table.insert(out, f[3] or ''); table.insert(out, f[4] or '')
  table.insert(out, table.concat(reps, ',')); table.insert(out, table.concat(locked, ','))
end
return out`;

const SCRIPTS = {
  orreryReadFiles: READ_FILES,
  orreryAddLocks: ADD_LOCKS,
  orreryRemoveLocks: REMOVE_LOCKS,
  orreryMoveLock: MOVE_LOCK,
  orreryRetryLock: RETRY_LOCK,
  orreryClaimTransfer: CLAIM,
  orreryRenewClaim: RENEW,
  orreryTransferDone: TRANSFER_DONE,
  orreryTransferFailed: TRANSFER_FAILED,
  orreryDeclareBad: DECLARE_BAD,
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptCall<R> = (...args: (string | number)[]) => R;

/** The scripts as ioredis commands (EVALSHA, loaded again by ioredis after a Redis restart). */
export type LockCommands = { [K in ScriptName]: ScriptCall<Promise<unknown>> };
export type LockPipeline = ChainableCommander & { [K in ScriptName]: ScriptCall<ChainableCommander> };

export function defineLockScripts(redis: Redis): Redis & LockCommands {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua });
  }
  return redis as Redis & LockCommands;
}

/** The first two arguments of every script: the time as ms and as ISO text. */
export function clock(now = Date.now()): [string, string] {
  return [String(now), new Date(now).toISOString()];
}
