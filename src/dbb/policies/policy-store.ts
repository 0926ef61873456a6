// Policies in Redis: one JSON string per site (`dbb:policy:<site>`), the set
// of sites that have one, and the sites whose retroactive subscriptions still
// have existing files to cover. Each subscription keeps the time it was set
// from: it applies to DIDs first registered from then on.
import type { Redis } from "ioredis";
import { Keys } from "../catalog/keys.js";
import type { Policy, Subscription } from "./policy-schema.js";
import { checkReplies } from "../../common/redis-replies.js";

export interface StoredPolicy {
  policy: Policy;
  /** Subscription name → ms from which it applies to new DIDs. */
  since: Record<string, number>;
  /** When the policy was last set (ms). */
  setAt: number;
}

export interface SetPolicy {
  stored: StoredPolicy;
  /** Retroactive subscriptions whose existing files are to be walked: the new or changed ones, or all after an unfinished walk. */
  walk: string[];
}

function sameSubscription(a: Subscription, b: Subscription): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function fromJson(text: string | null): StoredPolicy | undefined {
  // Written by `set` below from a policy PolicySchema accepted; not user input.
  return text === null ? undefined : (JSON.parse(text) as StoredPolicy);
}

export class PolicyStore {
  constructor(private readonly redis: Redis) {}

  /**
   * Stores a site's policy in place of the one before. A subscription set
   * again unchanged keeps its start time, so setting the same file twice
   * changes nothing; a new or changed one starts now.
   */
  async set(policy: Policy, now = Date.now()): Promise<SetPolicy> {
    const [before, unfinished] = await Promise.all([this.get(policy.site), this.redis.sismember(Keys.policyRetroactive, policy.site)]);
    const since: Record<string, number> = {};
    for (const s of policy.subscriptions) {
      const old = before?.policy.subscriptions.find((o) => o.name === s.name);
      since[s.name] = old && sameSubscription(old, s) ? (before?.since[s.name] ?? now) : now;
    }
    const stored: StoredPolicy = { policy, since, setAt: now };
    // An unchanged subscription covered the existing files when it was set; walking them again would remake rules an operator deleted.
    const walk = policy.subscriptions.filter((s) => s.retroactive && (unfinished === 1 || since[s.name] === now)).map((s) => s.name);
    const multi = this.redis.multi().set(Keys.policy(policy.site), JSON.stringify(stored)).sadd(Keys.policies, policy.site);
    // Marked in the same write, so a crash during the walk leaves it to be finished at the next start.
    if (walk.length > 0) multi.sadd(Keys.policyRetroactive, policy.site);
    checkReplies(await multi.exec());
    return { stored, walk };
  }

  async get(site: string): Promise<StoredPolicy | undefined> {
    return fromJson(await this.redis.get(Keys.policy(site)));
  }

  /** The policies of some sites, in one round trip; sites without one are absent. */
  async many(sites: readonly string[]): Promise<Map<string, StoredPolicy>> {
    const out = new Map<string, StoredPolicy>();
    if (sites.length === 0) return out;
    const texts = await this.redis.mget(...sites.map((s) => Keys.policy(s)));
    sites.forEach((site, i) => {
      const stored = fromJson(texts[i] ?? null);
      if (stored) out.set(site, stored);
    });
    return out;
  }

  /** Sites that have a policy, sorted. */
  async sites(): Promise<string[]> {
    return (await this.redis.smembers(Keys.policies)).sort();
  }

  /** Sites whose retroactive subscriptions were set but not yet applied to every existing file. */
  retroactivePending(): Promise<string[]> {
    return this.redis.smembers(Keys.policyRetroactive);
  }

  /** The walk of a site's retroactive subscriptions finished (for the policy set at `setAt`). */
  async retroactiveDone(site: string, setAt: number): Promise<void> {
    const current = await this.get(site);
    // A policy set again meanwhile has its own walk to do: its mark stays.
    if (current === undefined || current.setAt === setAt) await this.redis.srem(Keys.policyRetroactive, site);
  }
}
