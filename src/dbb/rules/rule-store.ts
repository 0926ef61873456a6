// Rules in Redis: one hash per rule (its request, lock counters and flags),
// the set of all rules, the rules of each DID, and an identity key per
// (DID, expression) that makes a duplicate rule impossible even with several
// dbb processes.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseDid } from "../../common/did.js";
import { Keys } from "../catalog/keys.js";
import { LockStates, ruleState, type Grouping, type LockState, type Rule, type ValidRuleInput } from "./rule-model.js";
import { checkReplies } from "../../common/redis-replies.js";

type Hash = Record<string, string>;

function didKeys(did: string) {
  const { scope, name } = parseDid(did);
  return { rules: Keys.didRules(scope, name) };
}

export function ruleFromHash(h: Hash): Rule | undefined {
  if (h["id"] === undefined) return undefined;
  const locks = Object.fromEntries(LockStates.map((s) => [s, Math.max(0, Number(h[`locks${s}`] ?? "0"))])) as Record<LockState, number>;
  const evaluated = h["evaluated"] === "1";
  const expiresMs = Number(h["expiresAt"] ?? "");
  const lifetime = Number(h["lifetimeSeconds"] ?? "");
  const state = ruleState(locks, h["suspended"] === "1");
  return {
    id: h["id"],
    did: h["did"] ?? "",
    rseExpression: h["rseExpression"] ?? "",
    copies: Number(h["copies"] ?? "1"),
    lifetimeSeconds: h["lifetimeSeconds"] ? lifetime : undefined,
    grouping: (h["grouping"] ?? "DATASET") as Grouping,
    weight: h["weight"] ?? "",
    sourceExpression: h["sourceExpression"] ?? "",
    locked: h["locked"] === "1",
    subscription: h["subscription"] ?? "",
    // A rule whose locks are still being written is not OK yet, whatever its counters say.
    state: !evaluated && state === "OK" ? "REPLICATING" : state,
    locks,
    createdAt: h["createdAt"] ?? "",
    expiresAt: h["expiresAt"] ? new Date(expiresMs).toISOString() : "",
    evaluated,
  };
}

export class RuleStore {
  constructor(private readonly redis: Redis) {}

  /**
   * Stores a new rule, not yet evaluated. Rucio's DuplicateRule: a second rule
   * on the same DID with the same expression is refused.
   */
  async create(input: ValidRuleInput, now = Date.now()): Promise<Rule> {
    const id = randomUUID().replaceAll("-", "");
    const identity = Keys.ruleIdentity(input.did, input.rseExpression);
    if ((await this.redis.set(identity, id, "NX")) === null) {
      const holder = await this.redis.get(identity);
      // An identity left by a crash before its rule was written is taken over.
      if (holder !== null && (await this.redis.exists(Keys.rule(holder))) === 1) {
        throw new OrreryError(ErrorCode.ALREADY_EXISTS, `a rule for ${input.did} on "${input.rseExpression}" exists already: ${holder}`, {
          hint: `see it with \`orrery dbb rule show ${holder}\`; change its copies or lifetime by deleting it first`,
        });
      }
      await this.redis.set(identity, id);
    }
    const fields: Hash = {
      id,
      did: input.did,
      rseExpression: input.rseExpression,
      copies: String(input.copies),
      grouping: input.grouping,
      weight: input.weight,
      sourceExpression: input.sourceExpression,
      locked: input.locked ? "1" : "0",
      subscription: input.subscription,
      createdAt: new Date(now).toISOString(),
      evaluated: "0",
      locksOK: "0",
      locksREPLICATING: "0",
      locksSTUCK: "0",
    };
    const multi = this.redis.multi();
    if (input.lifetimeSeconds !== undefined) {
      const expires = now + Math.round(input.lifetimeSeconds * 1000);
      fields["lifetimeSeconds"] = String(input.lifetimeSeconds);
      fields["expiresAt"] = String(expires);
      multi.zadd(Keys.ruleExpiry, expires, id);
    }
    multi.hset(Keys.rule(id), fields).sadd(Keys.rules, id).sadd(didKeys(input.did).rules, id);
    checkReplies(await multi.exec());
    return ruleFromHash(fields)!;
  }

  async get(id: string): Promise<Rule> {
    if (!/^[0-9a-f]{32}$/.test(id)) {
      throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `"${id}" is not a rule id`, { hint: "rule ids are 32 hex digits; list them with `orrery dbb rule list`" });
    }
    const rule = ruleFromHash(await this.redis.hgetall(Keys.rule(id)));
    if (!rule) throw new OrreryError(ErrorCode.NOT_FOUND, `rule ${id} does not exist`, { hint: "list rules with `orrery dbb rule list`" });
    return rule;
  }

  async many(ids: readonly string[]): Promise<Rule[]> {
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hgetall(Keys.rule(id));
    const rules: Rule[] = [];
    for (const [err, h] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      const rule = ruleFromHash(h as Hash);
      if (rule) rules.push(rule);
    }
    return rules;
  }

  /** Rule ids on a DID, or every rule id, sorted. */
  async ids(did?: string): Promise<string[]> {
    const ids = did === undefined ? await this.redis.smembers(Keys.rules) : await this.redis.smembers(didKeys(did).rules);
    return ids.sort();
  }

  async markEvaluated(id: string): Promise<void> {
    await this.redis.hset(Keys.rule(id), "evaluated", "1");
  }

  async setLocked(id: string, locked: boolean): Promise<void> {
    await this.redis.hset(Keys.rule(id), "locked", locked ? "1" : "0");
  }

  async setLifetime(id: string, seconds: number, now = Date.now()): Promise<void> {
    const expires = now + Math.round(seconds * 1000);
    await this.redis.multi().hset(Keys.rule(id), { lifetimeSeconds: String(seconds), expiresAt: String(expires) }).zadd(Keys.ruleExpiry, expires, id).exec().then(checkReplies);
  }

  /** Removes the rule's own keys; its locks must be gone already. */
  async remove(rule: Rule): Promise<void> {
    await this.redis
      .multi()
      .del(Keys.rule(rule.id), Keys.ruleLocks(rule.id), Keys.ruleGroups(rule.id))
      .srem(Keys.rules, rule.id)
      .srem(didKeys(rule.did).rules, rule.id)
      .zrem(Keys.ruleExpiry, rule.id)
      .srem(Keys.stuckRules, rule.id)
      .del(Keys.ruleIdentity(rule.did, rule.rseExpression))
      .exec()
      .then(checkReplies);
  }

  /** Ids of rules whose lifetime ended by `now`. */
  expired(now = Date.now(), limit = 1000): Promise<string[]> {
    return this.redis.zrangebyscore(Keys.ruleExpiry, "-inf", now, "LIMIT", 0, limit);
  }
}
