// The reaper's two transitions as Lua scripts, so a deletion is crash-safe
// and never races a rule: MARK turns an unlocked replica BEING_DELETED (the
// only moment it may stop being a copy), FINISH removes its record after the
// object is gone, or hands it back to the rule engine if a lock arrived
// meanwhile. They reuse the lock scripts' helpers (replica keys, locksAt,
// ensureCopying, otherAvailable), so the ledger entries they write are the
// rule engine's own.
import type { ChainableCommander, Redis } from "ioredis";
import { PRELUDE } from "../rules/lock-scripts.js";

/**
 * ARGV: nowMs, nowIso, rse, did, mode ('obsolete' | 'quota'), quotaBytes.
 * → {'marked', path, bytes} | {'enough'} (quota mode: the RSE is within its
 * quota) | {'gone'} (no replica, queue entry dropped) | {'skip', why} (left
 * in the queue).
 */
const MARK = `${PRELUDE}
local rse, did = ARGV[3], ARGV[4]
local queue = 'dbb:tombstones:' .. rse
local score = tonumber(redis.call('ZSCORE', queue, did))
if not score then return {'gone'} end
local rkey = replicaKey(rse, did)
local r = redis.call('HMGET', rkey, 'state', 'locks', 'bytes', 'path')
local state, locks, bytes, path = r[1], tonumber(r[2]) or 0, tonumber(r[3]) or 0, r[4] or ''
if not state then
  redis.call('ZREM', queue, did)
  return {'gone'}
end
if ARGV[5] == 'obsolete' then
  if score ~= 0 then return {'skip', 'not obsolete'} end
else
  if score <= 0 or score > tonumber(ARGV[1]) then return {'skip', 'tombstone not passed'} end
  -- Checked here, atomically with the mark, so reapers in several dbb
  -- processes together still free exactly enough.
  if (tonumber(redis.call('HGET', 'dbb:rse-usage', rse)) or 0) <= tonumber(ARGV[6]) then return {'enough'} end
end
-- Rucio's reaper takes only replicas with lock_cnt = 0.
if locks > 0 or #locksAt(did, rse) > 0 then return {'skip', 'locked'} end
if state == 'COPYING' or state == 'BEING_DELETED' then return {'skip', state} end
if redis.call('HEXISTS', 'dbb:transfers', rse .. ':' .. did) == 1 then return {'skip', 'transfer pending'} end
-- Never the last copy, as DESIGN.md asks of this Rucio reaper: an AVAILABLE
-- replica goes only while another RSE has the file AVAILABLE. A BAD or
-- UNAVAILABLE one is no readable copy and goes.
if state == 'AVAILABLE' and otherAvailable(did, rse) == 0 then return {'skip', 'last copy'} end
redis.call('HSET', rkey, 'state', 'BEING_DELETED', 'updatedAt', ARGV[2])
redis.call('ZREM', queue, did)
-- rse-usage counts every state but BEING_DELETED: the bytes leave it now.
if bytes > 0 then redis.call('HINCRBY', 'dbb:rse-usage', rse, string.format('%d', -bytes)) end
redis.call('HSET', 'dbb:being-deleted:' .. rse, did, string.format('%d', bytes) .. ':' .. ARGV[1])
return {'marked', path, string.format('%d', bytes)}`;

/**
 * ARGV: nowMs, nowIso, rse, did: after the object was deleted.
 * → {'deleted'} | {'gone'} (finished already) | {'kept'} (registered again
 * meanwhile) | {'COPYING', (rse, did, gen)…} (a lock arrived: copied again).
 */
const FINISH = `${PRELUDE}
local rse, did = ARGV[3], ARGV[4]
local marks = 'dbb:being-deleted:' .. rse
local mark = redis.call('HGET', marks, did)
if not mark then return {'gone'} end
redis.call('HDEL', marks, did)
local bytes = string.match(mark, '^(%d+)') or '0'
local rkey = replicaKey(rse, did)
local state = redis.call('HGET', rkey, 'state')
if state ~= 'BEING_DELETED' then
  -- A registration brought it back meanwhile: its bytes count again.
  if state then redis.call('HINCRBY', 'dbb:rse-usage', rse, bytes) end
  return {'kept'}
end
local holders = locksAt(did, rse)
if #holders > 0 or (tonumber(redis.call('HGET', rkey, 'locks')) or 0) > 0 then
  -- A rule wants it here after all: the lock scripts left its lock
  -- REPLICATING for us to queue the copy once the old bytes are gone.
  local out = {}
  redis.call('HINCRBY', 'dbb:rse-usage', rse, bytes)
  ensureCopying(rse, did, holders[1], out)
  table.insert(out, 1, 'COPYING')
  return out
end
redis.call('DEL', rkey)
redis.call('SREM', 'dbb:did-rses:' .. did, rse)
redis.call('SREM', 'dbb:rse-replicas:' .. rse, did)
redis.call('ZREM', 'dbb:tombstones:' .. rse, did)
return {'deleted'}`;

const SCRIPTS = { orreryReaperMark: MARK, orreryReaperFinish: FINISH } as const;

type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;
export type ReaperCommands = { [K in keyof typeof SCRIPTS]: ScriptCall };
export type ReaperPipeline = ChainableCommander & { [K in keyof typeof SCRIPTS]: (...args: (string | number)[]) => ChainableCommander };

export function defineReaperScripts(redis: Redis): Redis & ReaperCommands {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua });
  }
  return redis as Redis & ReaperCommands;
}

export type MarkAnswer = { kind: "marked"; path: string; bytes: number } | { kind: "enough" } | { kind: "gone" } | { kind: "skip"; why: string };

export function parseMark(answer: unknown): MarkAnswer {
  const a = answer as string[];
  switch (a[0]) {
    case "marked":
      return { kind: "marked", path: a[1] ?? "", bytes: Number(a[2] ?? "0") };
    case "enough":
      return { kind: "enough" };
    case "gone":
      return { kind: "gone" };
    default:
      return { kind: "skip", why: a[1] ?? "" };
  }
}

export type FinishAnswer = { kind: "deleted" } | { kind: "gone" } | { kind: "kept" } | { kind: "copying"; requests: { rse: string; did: string; gen: number }[] };

export function parseFinish(answer: unknown): FinishAnswer {
  const a = answer as string[];
  if (a[0] === "COPYING") {
    const requests = [];
    for (let i = 1; i + 2 < a.length; i += 3) requests.push({ rse: a[i]!, did: a[i + 1]!, gen: Number(a[i + 2]) });
    return { kind: "copying", requests };
  }
  return a[0] === "deleted" ? { kind: "deleted" } : a[0] === "kept" ? { kind: "kept" } : { kind: "gone" };
}
