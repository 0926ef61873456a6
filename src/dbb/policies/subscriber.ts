// Applies site subscriptions to new file DIDs after their registration is
// stored. New files from any path (the register endpoint, the JetStream
// consumer, the pending set after a crash) join one queue; whatever arrived
// while a batch ran becomes the next batch, so files registered one message
// at a time are still handled many at once. A file leaves the pending set
// (written with its registration) only once its rules are made.
import type { Redis } from "ioredis";
import { createLogger } from "../../common/logger.js";
import { Keys } from "../catalog/keys.js";
import type { CreatedFile } from "../catalog/replica-registrar.js";
import type { PolicyStore } from "./policy-store.js";
import { jobsForNew, readCreatedFiles } from "./subscription-match.js";
import type { SubscriptionRules } from "./subscription-rules.js";

const log = createLogger("dbb-subscriber");

/** Files per batch. */
const BATCH = 2000;
/** Files waiting beyond this make `enqueue` wait: the JetStream consumer slows down rather than memory growing. */
const MAX_BACKLOG = 20_000;

interface Waiting {
  files: readonly CreatedFile[];
  done: () => void;
}

export class Subscriber {
  private readonly waiting: Waiting[] = [];
  private backlog = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly store: PolicyStore,
    private readonly rules: SubscriptionRules,
  ) {}

  /** Makes the subscriptions' rules on newly registered files; resolves when done (failures are logged and left pending). */
  apply(files: readonly CreatedFile[]): Promise<void> {
    if (files.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiting.push({ files, done: resolve });
      this.backlog += files.length;
      this.kick();
    });
  }

  /** Queues the files and returns at once, unless the backlog is full: then when these are done. */
  async enqueue(files: readonly CreatedFile[]): Promise<void> {
    const done = this.apply(files);
    if (this.backlog > MAX_BACKLOG) await done;
  }

  /** Whether files are queued or being handled. */
  busy(): boolean {
    return this.backlog > 0 || this.running !== undefined;
  }

  /** Resolves when everything queued so far is done. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      // Files queued between the loop's last look and now.
      if (this.waiting.length > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch: Waiting[] = [];
      let size = 0;
      while (this.waiting.length > 0 && (size === 0 || size + this.waiting[0]!.files.length <= BATCH)) {
        const w = this.waiting.shift()!;
        batch.push(w);
        size += w.files.length;
      }
      try {
        await this.process(batch.flatMap((w) => w.files));
      } catch (err) {
        // They stay in the pending set; the next drain tries again.
        log.warn({ files: size, err }, "subscriptions not applied; will try again");
      }
      this.backlog -= size;
      for (const w of batch) w.done();
    }
  }

  private async process(files: readonly CreatedFile[]): Promise<void> {
    const policies = await this.store.many([...new Set(files.map((f) => f.originSite))]);
    const jobs = jobsForNew(files, policies);
    const made = await this.rules.make(jobs);
    const done = [...new Set(files.map((f) => f.did))].filter((d) => !made.retry.has(d));
    for (let i = 0; i < done.length; i += 1000) await this.redis.zrem(Keys.subscriptionPending, ...done.slice(i, i + 1000));
  }

  /**
   * Applies subscriptions to files still pending that were registered before
   * `before` (ms): those a crash or a failure left behind. Returns how many
   * files it looked at.
   */
  async drain(before: number, stopping: () => boolean = () => false): Promise<number> {
    let seen = 0;
    let offset = 0;
    while (!stopping()) {
      const flat = await this.redis.zrangebyscore(Keys.subscriptionPending, "-inf", `(${before}`, "WITHSCORES", "LIMIT", offset, BATCH);
      if (flat.length === 0) return seen;
      const scores = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) scores.set(flat[i]!, Number(flat[i + 1]));
      const dids = [...scores.keys()];
      const files = await readCreatedFiles(this.redis, dids, (did) => scores.get(did) ?? 0);
      const known = new Set(files.map((f) => f.did));
      // A DID deleted since, or no longer a file, has nothing to subscribe.
      const gone = dids.filter((d) => !known.has(d));
      if (gone.length > 0) await this.redis.zrem(Keys.subscriptionPending, ...gone);
      await this.apply(files);
      const left = files.length === 0 ? [] : await this.redis.zmscore(Keys.subscriptionPending, ...files.map((f) => f.did));
      // Files left pending (to retry later) are stepped over, not read again in this pass.
      offset += left.filter((s) => s !== null).length;
      seen += dids.length;
      if (dids.length < BATCH) return seen;
    }
    return seen;
  }
}
