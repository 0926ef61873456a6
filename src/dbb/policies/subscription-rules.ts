// Makes the rules subscriptions ask for, many at once: rules that exist
// already are found in two pipelined round trips for the whole batch and
// skipped (a re-delivered registration, a re-run walk), the rest go through
// RuleEngine.add a few at a time over one RSE list, so a batch of thousands of
// files costs round trips per batch, not per file, wherever the engine allows.
import type { Redis } from "ioredis";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, isOrreryError } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { Keys } from "../catalog/keys.js";
import { RuleEngine, type LockCommands, type TransferQueue } from "../rules/index.js";
import type { SubscriptionJob } from "./subscription-match.js";

const log = createLogger("dbb-subscriptions");

/** Rules added at once: enough to keep Redis busy, few enough to leave the API responsive. */
const CONCURRENCY = 32;
/** How long one read of the RSE list serves the rules of a batch. */
const RSE_LIST_TTL_MS = 2000;

export interface MadeRules {
  created: number;
  /** Rules that existed already (Rucio's DuplicateRule): nothing to do. */
  existing: number;
  /** Rules that can never be made for their file (too few RSEs, file gone): logged and given up. */
  refused: number;
  /** Files with a rule that failed for a reason that may pass (Redis, NATS): to try again. */
  retry: Set<string>;
}

export class SubscriptionRules {
  private readonly engine: RuleEngine;
  private rseList: { at: number; rses: Promise<Rse[]> } | undefined;

  constructor(
    private readonly redis: Redis & LockCommands,
    queue: TransferQueue,
    private readonly rses: () => Promise<Rse[]>,
  ) {
    this.engine = new RuleEngine(redis, queue, () => this.cachedRses());
  }

  /** The RSE list read once per couple of seconds: the engine asks for it several times per rule. */
  private cachedRses(): Promise<Rse[]> {
    const now = Date.now();
    if (!this.rseList || now - this.rseList.at > RSE_LIST_TTL_MS) {
      const rses = this.rses();
      this.rseList = { at: now, rses };
      rses.catch(() => (this.rseList = undefined));
    }
    return this.rseList.rses;
  }

  async make(jobs: readonly SubscriptionJob[]): Promise<MadeRules> {
    const made: MadeRules = { created: 0, existing: 0, refused: 0, retry: new Set() };
    // One warning per subscription rule and batch, not one per file.
    const refusals = new Map<string, { job: SubscriptionJob; files: number; err: unknown }>();
    const todo = await this.withoutExisting(jobs);
    made.existing = jobs.length - todo.length;
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const job = todo[next++]!;
        try {
          await this.engine.add(job.input);
          made.created++;
        } catch (err) {
          if (isOrreryError(err, ErrorCode.ALREADY_EXISTS)) made.existing++;
          else if (isOrreryError(err, ErrorCode.INVALID_ARGUMENT) || isOrreryError(err, ErrorCode.NOT_FOUND)) {
            // Rucio's transmogrifier logs a rule it cannot make for a DID and goes on with the next.
            made.refused++;
            const key = `${job.input.subscription ?? ""}\u0000${job.input.rseExpression}`;
            const seen = refusals.get(key);
            if (seen) seen.files++;
            else refusals.set(key, { job, files: 1, err });
          } else {
            made.retry.add(job.did);
            log.warn({ did: job.did, subscription: job.input.subscription, err }, "subscription rule failed; will try again");
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, todo.length) }, worker));
    for (const { job, files, err } of refusals.values()) {
      log.warn({ subscription: job.input.subscription, expression: job.input.rseExpression, files, example: job.did, err }, "subscription could not make its rule on these files");
    }
    if (made.created > 0 || made.refused > 0) log.info({ rules: made.created, existing: made.existing, refused: made.refused, retry: made.retry.size }, "subscription rules made");
    return made;
  }

  /** Jobs whose (DID, expression) has no rule yet; an identity left by a crash without its rule counts as none. */
  private async withoutExisting(jobs: readonly SubscriptionJob[]): Promise<SubscriptionJob[]> {
    if (jobs.length === 0) return [];
    const holders = await exec<string | null>(this.redis, (pipe) => jobs.forEach((j) => pipe.get(Keys.ruleIdentity(j.did, j.input.rseExpression))));
    const held = jobs.flatMap((_, i) => (holders[i] ? [i] : []));
    const exists = await exec<number>(this.redis, (pipe) => held.forEach((i) => pipe.exists(Keys.rule(holders[i]!))));
    const skip = new Set(held.filter((_, k) => exists[k] === 1));
    return jobs.filter((_, i) => !skip.has(i));
  }
}

async function exec<T>(redis: Redis, fill: (pipe: ReturnType<Redis["pipeline"]>) => void): Promise<T[]> {
  const pipe = redis.pipeline();
  fill(pipe);
  if (pipe.length === 0) return [];
  return ((await pipe.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return value as T;
  });
}
