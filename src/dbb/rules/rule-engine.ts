// Rule evaluation: a rule's files are read in pipelined batches, placed on
// RSEs by its grouping, and their locks written by one Lua script per batch,
// which also makes the missing replicas COPYING and records their transfer
// requests; the requests then go on the JetStream work queue. Rucio turns
// rules past 10,000 locks asynchronous; here it stays synchronous, batched and
// pipelined, so `rule add` answers with every lock written.
import type { Redis } from "ioredis";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseDid } from "../../common/did.js";
import { objectKey } from "../../common/s3.js";
import { createLogger } from "../../common/logger.js";
import { DidType, Keys } from "../catalog/keys.js";
import { evaluate, parseRseExpression } from "../rse-expression/index.js";
import { clock, type LockCommands, type LockPipeline } from "./lock-scripts.js";
import { validateRuleInput, type Rule, type RuleInput } from "./rule-model.js";
import { RuleStore } from "./rule-store.js";
import { chooseRses, missingLocks, weighted, type Candidate } from "./rule-placement.js";
import { datasetsUnder, filesOf, readFiles, type RuleFile } from "./rule-files.js";
import type { TransferQueue, TransferRequest } from "./transfer-port.js";

const log = createLogger("dbb-rules");

/** Locks per script call, and script calls per pipeline. */
const LOCKS_PER_CALL = 500;
const CALLS_PER_PIPELINE = 20;

export interface Selection {
  dataset: string;
  files: string[];
}

export class RuleEngine {
  readonly store: RuleStore;

  constructor(
    private readonly redis: Redis & LockCommands,
    private readonly queue: TransferQueue,
    private readonly rses: () => Promise<Rse[]>,
  ) {
    this.store = new RuleStore(redis);
  }

  /** Validates, refuses what Rucio refuses, stores the rule and writes its locks. */
  async add(input: RuleInput): Promise<Rule> {
    const valid = validateRuleInput(input);
    const { scope, name } = parseDid(valid.did);
    if ((await this.redis.exists(Keys.did(scope, name))) === 0) {
      throw new OrreryError(ErrorCode.NOT_FOUND, `DID ${valid.did} is not in the catalog`, { hint: "register it first (orrery dbb ingest), or check the scope and name" });
    }
    // Rucio's InsufficientTargetRSEs: refused before anything is written.
    await this.candidates(valid);
    const rule = await this.store.create(valid);
    await this.evaluate(rule);
    return this.store.get(rule.id);
  }

  private async candidates(rule: { rseExpression: string; weight: string; copies: number }): Promise<Candidate[]> {
    const rses = await this.rses();
    const selected = evaluate(parseRseExpression(rule.rseExpression), rses);
    const candidates = weighted(selected, rule.weight);
    if (candidates.length < rule.copies) {
      const names = candidates.map((c) => c.name).join(", ") || "none";
      throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse expression "${rule.rseExpression}" selects ${candidates.length} RSE(s) (${names})${rule.weight ? ` with a positive "${rule.weight}" attribute` : ""}, fewer than the ${rule.copies} copies asked for`, {
        hint: "lower --copies, or widen --rse-expr (see `orrery dbb rse list --expr`)",
      });
    }
    return candidates;
  }

  /** Writes every missing lock of a rule (of its whole DID, or of `selection` only) and queues the transfers. */
  async evaluate(rule: Rule, selection?: Selection[]): Promise<number> {
    const started = Date.now();
    const candidates = await this.candidates(rule);
    const existing = !rule.evaluated || selection !== undefined ? rule.id : undefined;
    const groups = selection ?? (await this.wholeDid(rule.did));
    const stored = await this.redis.hgetall(Keys.ruleGroups(rule.id));
    const rseByName = new Map((await this.rses()).map((r) => [r.name, r]));
    const writer = new LockWriter(this.redis, rule.id);

    const all = rule.grouping === "ALL" ? await this.filesFor(groups.flatMap((g) => g.files), existing) : undefined;
    if (all) {
      const chosen = await this.group(rule.id, "*", stored, () => chooseRses(all, candidates, rule.copies));
      writer.add(missingLocks(all, chosen), rseByName);
    } else {
      for (const g of groups) {
        const files = await this.filesFor(g.files, existing);
        if (rule.grouping === "DATASET") {
          const chosen = await this.group(rule.id, g.dataset, stored, () => chooseRses(files, candidates, rule.copies));
          writer.add(missingLocks(files, chosen), rseByName);
        } else {
          for (const f of files) writer.add(missingLocks([f], chooseRses([f], candidates, rule.copies)), rseByName);
        }
        await writer.flushIfFull();
      }
    }
    const requests = await writer.finish();
    if (!rule.evaluated && selection === undefined) await this.store.markEvaluated(rule.id);
    await this.queue.enqueue(requests);
    log.info({ rule: rule.id, did: rule.did, locks: writer.count, transfers: requests.length, ms: Date.now() - started }, "rule evaluated");
    return writer.count;
  }

  private async wholeDid(did: string): Promise<Selection[]> {
    const { type, datasets } = await datasetsUnder(this.redis, did);
    const out: Selection[] = [];
    for (const d of datasets) out.push({ dataset: d, files: await filesOf(this.redis, d, type) });
    return out;
  }

  private filesFor(dids: readonly string[], ruleId: string | undefined): Promise<RuleFile[]> {
    return readFiles(this.redis, dids, ruleId);
  }

  /** The RSEs of a group: as chosen before (so files attached later join them), or chosen now and kept. */
  private async group(ruleId: string, key: string, stored: Record<string, string>, choose: () => string[]): Promise<string[]> {
    const before = stored[key];
    if (before !== undefined) return JSON.parse(before) as string[];
    const chosen = choose();
    await this.redis.hset(Keys.ruleGroups(ruleId), key, JSON.stringify(chosen));
    stored[key] = JSON.stringify(chosen);
    return chosen;
  }

  /** Deletes a rule and its locks; Rucio refuses to delete a locked rule. */
  async delete(id: string): Promise<Rule> {
    const rule = await this.store.get(id);
    if (rule.locked) {
      throw new OrreryError(ErrorCode.ILLEGAL_TRANSITION, `rule ${id} is locked and cannot be deleted`, {
        hint: `unlock it first: orrery dbb rule update ${id} --locked false`,
      });
    }
    await this.dropLocks(id);
    await this.store.remove(rule);
    log.info({ rule: id, did: rule.did }, "rule deleted");
    return rule;
  }

  private async dropLocks(id: string): Promise<void> {
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.hscan(Keys.ruleLocks(id), cursor, "COUNT", 1000);
      cursor = next;
      const fields = flat.filter((_, i) => i % 2 === 0);
      if (fields.length > 0) await this.redis.orreryRemoveLocks(...clock(), id, ...fields);
    } while (cursor !== "0");
  }

  /** Files attached to a collection get the locks of every rule on it or on a collection above it. */
  async onAttached(parent: string, children: readonly string[]): Promise<void> {
    const ruleIds = await this.rulesAbove(parent);
    if (ruleIds.length === 0 || children.length === 0) return;
    const { scope, name } = parseDid(parent);
    const type = await this.redis.hget(Keys.did(scope, name), "type");
    let selection: Selection[];
    if (type === DidType.DATASET) selection = [{ dataset: parent, files: [...children] }];
    else {
      selection = [];
      for (const child of children) {
        const under = await datasetsUnder(this.redis, child);
        for (const d of under.datasets) selection.push({ dataset: d, files: await filesOf(this.redis, d, under.type) });
      }
    }
    for (const rule of await this.store.many(ruleIds)) {
      try {
        await this.evaluate(rule, selection);
      } catch (err) {
        log.error({ rule: rule.id, parent, err }, "could not give attached files their locks");
      }
    }
  }

  /**
   * Files detached from a collection lose the locks of the rules on it and
   * above it (Rucio removes the locks of detached content); their replicas
   * get tombstones when no other lock holds them.
   */
  async onDetached(parent: string, children: readonly string[]): Promise<void> {
    const ruleIds = await this.rulesAbove(parent);
    if (ruleIds.length === 0 || children.length === 0) return;
    const files: string[] = [];
    for (const child of children) {
      const under = await datasetsUnder(this.redis, child);
      for (const d of under.datasets) files.push(...(await filesOf(this.redis, d, under.type)));
    }
    for (const id of ruleIds) {
      const locked = await readFiles(this.redis, files, id);
      const fields = locked.flatMap((f) => [...f.locked].map((rse) => `${rse}:${f.did}`));
      for (let i = 0; i < fields.length; i += LOCKS_PER_CALL) await this.redis.orreryRemoveLocks(...clock(), id, ...fields.slice(i, i + LOCKS_PER_CALL));
    }
  }

  /** Rules on a DID and on every collection above it (walking parents, at most 32 levels). */
  private async rulesAbove(did: string): Promise<string[]> {
    const ids = new Set<string>();
    const seen = new Set<string>([did]);
    let level = [did];
    for (let depth = 0; level.length > 0 && depth < 32; depth++) {
      const pipe = this.redis.pipeline();
      for (const d of level) {
        const { scope, name } = parseDid(d);
        pipe.smembers(Keys.didRules(scope, name)).smembers(Keys.parents(scope, name));
      }
      const results = ((await pipe.exec()) ?? []).map(([err, v]) => {
        if (err) throw err;
        return v as string[];
      });
      const nextLevel: string[] = [];
      results.forEach((members, i) => {
        if (i % 2 === 0) members.forEach((m) => ids.add(m));
        else for (const p of members) if (!seen.has(p)) (seen.add(p), nextLevel.push(p));
      });
      level = nextLevel;
    }
    return [...ids];
  }
}

/** Collects lock arguments and sends them as pipelined script calls; gathers the transfer requests. */
class LockWriter {
  count = 0;
  private args: (string | number)[] = [];
  private calls: (string | number)[][] = [];
  private readonly requests: TransferRequest[] = [];

  constructor(
    private readonly redis: Redis & LockCommands,
    private readonly ruleId: string,
  ) {}

  add(locks: readonly { file: RuleFile; rse: string }[], rses: ReadonlyMap<string, Rse>): void {
    for (const { file, rse } of locks) {
      const { scope, name } = parseDid(file.did);
      const path = objectKey({ prefix: rses.get(rse)?.prefix ?? "" }, scope, name);
      this.args.push(rse, file.did, file.bytes, file.adler32, file.md5, path);
      this.count++;
      if (this.args.length >= LOCKS_PER_CALL * 6) this.cut();
    }
  }

  private cut(): void {
    if (this.args.length > 0) this.calls.push(this.args);
    this.args = [];
  }

  async flushIfFull(): Promise<void> {
    if (this.calls.length >= CALLS_PER_PIPELINE) await this.flush();
  }

  private async flush(): Promise<void> {
    const calls = this.calls;
    this.calls = [];
    if (calls.length === 0) return;
    const pipe = this.redis.pipeline() as unknown as LockPipeline;
    for (const args of calls) pipe.orreryAddLocks(...clock(), this.ruleId, ...args);
    for (const [err, out] of (await pipe.exec()) ?? []) {
      if (err) throw err;
      const flat = out as string[];
      for (let i = 0; i + 2 < flat.length; i += 3) this.requests.push({ rse: flat[i]!, did: flat[i + 1]!, gen: Number(flat[i + 2]) });
    }
  }

  async finish(): Promise<TransferRequest[]> {
    this.cut();
    while (this.calls.length > 0) {
      const rest = this.calls.splice(CALLS_PER_PIPELINE);
      await this.flush();
      this.calls = rest;
    }
    return this.requests;
  }
}
