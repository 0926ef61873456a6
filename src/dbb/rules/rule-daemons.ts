// The rule daemons of the dbb process, as Rucio's judge has them: the
// cleaner removes expired rules, the repairer moves STUCK locks to another RSE
// the expression allows (or tries them again where they are), and recovery
// finishes what a crash interrupted.
import type { Redis } from "ioredis";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { createLogger } from "../../common/logger.js";
import { Periodic } from "../../common/periodic.js";
import { objectKey } from "../../common/s3.js";
import { parseDid } from "../../common/did.js";
import { Keys } from "../catalog/keys.js";
import { evaluate, parseRseExpression } from "../rse-expression/index.js";
import { clock, type LockCommands } from "./lock-scripts.js";
import type { RuleEngine } from "./rule-engine.js";
import { readFiles } from "./rule-files.js";
import { chooseRses, weighted } from "./rule-placement.js";
import type { TransferLedger } from "./transfer-ledger.js";
import type { TransferQueue, TransferRequest } from "./transfer-port.js";

const log = createLogger("dbb-judge");

/** A rule repaired this many times without getting OK is SUSPENDED (Rucio suspends rules stuck too long). */
const MAX_REPAIRS = 20;

export interface JudgeOptions {
  /** How often expired and stuck rules are looked at. */
  intervalMs: number;
  /** How long a lock stays STUCK before the repairer acts. */
  repairDelayMs: number;
}

export class Judge {
  private periodic: Periodic | undefined;

  constructor(
    private readonly redis: Redis & LockCommands,
    private readonly engine: RuleEngine,
    private readonly ledger: TransferLedger,
    private readonly queue: TransferQueue,
    private readonly rses: () => Promise<Rse[]>,
    private readonly opts: JudgeOptions,
  ) {}

  /** Finishes rules a crash left half-evaluated and publishes every ledger request again. */
  async recover(): Promise<void> {
    for (const rule of await this.engine.store.many(await this.engine.store.ids())) {
      if (!rule.evaluated) await this.engine.evaluate(rule);
    }
    const pending = await this.ledger.pending();
    await this.queue.enqueue(pending);
    if (pending.length > 0) log.info({ requests: pending.length }, "transfer requests published again after a restart");
  }

  start(): void {
    this.periodic ??= new Periodic(() => this.pass(), this.opts.intervalMs, (err: unknown) => log.warn({ err }, "judge pass failed; next pass will retry"));
    this.periodic.start();
  }

  async stop(): Promise<void> {
    await this.periodic?.stop();
  }

  async pass(now = Date.now()): Promise<void> {
    await this.cleanExpired(now);
    await this.repairStuck(now);
  }

  /** Rucio's judge-cleaner: an expired rule goes, unless it is locked (then it waits to be unlocked). */
  async cleanExpired(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const rule of await this.engine.store.many(await this.engine.store.expired(now))) {
      if (rule.locked) continue;
      await this.engine.delete(rule.id);
      log.info({ rule: rule.id, did: rule.did }, "expired rule removed");
      removed++;
    }
    return removed;
  }

  /** Rucio's judge-repairer for each STUCK lock that has waited long enough. */
  async repairStuck(now = Date.now()): Promise<number> {
    let repaired = 0;
    const rses = await this.rses();
    const byName = new Map(rses.map((r) => [r.name, r]));
    for (const rule of await this.engine.store.many(await this.redis.smembers(Keys.stuckRules))) {
      if (rule.locks.STUCK === 0 || rule.state === "SUSPENDED") {
        await this.redis.srem(Keys.stuckRules, rule.id);
        continue;
      }
      const stuckAt = Number(await this.redis.hget(Keys.rule(rule.id), "stuckAt"));
      if (now - stuckAt < this.opts.repairDelayMs) continue;
      const repairs = await this.redis.hincrby(Keys.rule(rule.id), "repairs", 1);
      if (repairs > MAX_REPAIRS) {
        await this.redis.hset(Keys.rule(rule.id), "suspended", "1");
        log.warn({ rule: rule.id, repairs }, "rule suspended: its locks stay STUCK after repeated repairs");
        continue;
      }
      const candidates = weighted(evaluate(parseRseExpression(rule.rseExpression), rses), rule.weight);
      const locks = await this.redis.hgetall(Keys.ruleLocks(rule.id));
      const requests: TransferRequest[] = [];
      for (const [field, state] of Object.entries(locks)) {
        if (state !== "STUCK") continue;
        const at = field.indexOf(":");
        const stuckRse = field.slice(0, at);
        const did = field.slice(at + 1);
        const [file] = await readFiles(this.redis, [did], rule.id);
        if (!file) continue;
        const others = candidates.filter((c) => c.name !== stuckRse && !file.locked.has(c.name));
        let out: string[];
        if (others.length > 0) {
          // Another RSE the expression allows: the lock moves there (ALL and DATASET groups may split, as in Rucio).
          const [target] = chooseRses([file], others, 1);
          const { scope, name } = parseDid(did);
          const path = objectKey({ prefix: byName.get(target!)?.prefix ?? "" }, scope, name);
          out = (await this.redis.orreryMoveLock(...clock(now), rule.id, field, target!, did, file.bytes, file.adler32, file.md5, path)) as string[];
          log.info({ rule: rule.id, did, from: stuckRse, to: target }, "stuck lock moved");
        } else {
          out = (await this.redis.orreryRetryLock(...clock(now), rule.id, field)) as string[];
          log.info({ rule: rule.id, did, rse: stuckRse }, "stuck lock tried again where it is");
        }
        for (let i = 0; i + 2 < out.length; i += 3) requests.push({ rse: out[i]!, did: out[i + 1]!, gen: Number(out[i + 2]) });
        repaired++;
      }
      await this.queue.enqueue(requests);
    }
    return repaired;
  }
}
