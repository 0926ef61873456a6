// A quantum's outputs settled by the coordinator (endpoint replica.settle).
// An attempt declared lost may have stored and registered its outputs before
// it was cut off; the attempt that was taken registered the same DIDs,
// perhaps at another RSE. The coordinator knows which attempt counts and
// names its replicas: every other unlocked AVAILABLE replica of those files
// that the quantum produced turns UNAVAILABLE with an obsolete tombstone
// (epoch), so it is no readable copy from now on and the reaper deletes it.
// Replicas a rule holds are the rule's and stay. One Lua script: atomic with
// registrations and lock changes.
import type { Redis } from "ioredis";
import { PRELUDE, clock } from "../rules/lock-scripts.js";
import type { ReplicaEvent } from "../catalog/replica-registrar.js";
import { ReplicaState } from "../catalog/keys.js";

/** ARGV: nowMs, nowIso, producedBy, then (did, rse)… kept; returns (rse, did)… made obsolete. */
const SETTLE = `${PRELUDE}
local producedBy = ARGV[3]
local keep, dids = {}, {}
for i = 4, #ARGV, 2 do
  local did, rse = ARGV[i], ARGV[i + 1]
  if not keep[did] then keep[did] = {}; table.insert(dids, did) end
  keep[did][rse] = true
end
local out = {}
for _, did in ipairs(dids) do
  local kept = false
  for rse in pairs(keep[did]) do
    if redis.call('HGET', replicaKey(rse, did), 'state') == 'AVAILABLE' then kept = true end
  end
  if kept and redis.call('HGET', 'dbb:did:' .. did, 'producedBy') == producedBy then
    for _, rse in ipairs(redis.call('SMEMBERS', 'dbb:did-rses:' .. did)) do
      if not keep[did][rse] then
        local rkey = replicaKey(rse, did)
        local r = redis.call('HMGET', rkey, 'state', 'locks')
        if r[1] == 'AVAILABLE' and (tonumber(r[2]) or 0) == 0 and #locksAt(did, rse) == 0 then
          redis.call('HSET', rkey, 'state', 'UNAVAILABLE', 'updatedAt', ARGV[2])
          setTombstone(rse, did, 0)
          table.insert(out, rse); table.insert(out, did)
        end
      end
    end
  end
end
return out`;

type SettleRedis = Redis & { orrerySettleOutputs(...args: string[]): Promise<unknown> };

export class OutputSettlement {
  private readonly redis: SettleRedis;

  constructor(redis: Redis) {
    if (!("orrerySettleOutputs" in redis)) redis.defineCommand("orrerySettleOutputs", { numberOfKeys: 0, lua: SETTLE });
    this.redis = redis as SettleRedis;
  }

  /** Makes obsolete every other unlocked AVAILABLE replica of the kept files that `producedBy` made; returns the replica events. */
  async settle(producedBy: string, keep: readonly { did: string; rse: string }[]): Promise<ReplicaEvent[]> {
    if (producedBy === "" || keep.length === 0) return [];
    const answer = (await this.redis.orrerySettleOutputs(...clock(), producedBy, ...keep.flatMap((k) => [k.did, k.rse]))) as string[];
    const events: ReplicaEvent[] = [];
    for (let i = 0; i + 1 < answer.length; i += 2) events.push({ rse: answer[i]!, did: answer[i + 1]!, state: ReplicaState.UNAVAILABLE });
    return events;
  }
}
