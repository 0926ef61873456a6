// Per-site replication policies in the dbb process: `policy.set` and
// `policy.show`, the subscriber that gives new files their subscriptions'
// rules, and the background work that finishes what a crash left behind
// (files registered but not yet subscribed, retroactive walks cut short).
import type { Redis } from "ioredis";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { unlocated } from "../../common/yaml-problems.js";
import type { CreatedFile } from "../catalog/replica-registrar.js";
import type { LockCommands, TransferQueue } from "../rules/index.js";
import { parsePolicyJson, policyInvalid } from "./policy-file.js";
import { rseProblems, type Policy } from "./policy-schema.js";
import { PolicyStore } from "./policy-store.js";
import { RetroactiveWalk } from "./retroactive.js";
import { Subscriber } from "./subscriber.js";
import { SubscriptionRules } from "./subscription-rules.js";

const log = createLogger("dbb-policies");

export interface PolicyServiceOptions {
  /** How often files left pending are looked for (default 30 s). */
  drainIntervalMs?: number;
  /** Pending files younger than this are left to the process that registered them (default 60 s). */
  drainAgeMs?: number;
}

export interface PolicySetResult {
  policy: Policy;
  /** Existing files the retroactive subscriptions matched, and the rules made on them. */
  retroactiveFiles: number;
  retroactiveRules: number;
}

export class PolicyService {
  readonly store: PolicyStore;
  private readonly subscriber: Subscriber;
  private readonly retroactive: RetroactiveWalk;
  private timer: NodeJS.Timeout | undefined;
  private background: Promise<void> | undefined;
  private stopped = false;

  constructor(
    redis: Redis & LockCommands,
    queue: TransferQueue,
    private readonly rses: () => Promise<Rse[]>,
    private readonly opts: PolicyServiceOptions = {},
  ) {
    this.store = new PolicyStore(redis);
    const rules = new SubscriptionRules(redis, queue, rses);
    this.subscriber = new Subscriber(redis, this.store, rules);
    this.retroactive = new RetroactiveWalk(redis, this.store, rules);
  }

  /** Checks a policy (untrusted JSON) again, stores it, and applies its retroactive subscriptions to existing files. */
  async set(policyJson: string): Promise<PolicySetResult> {
    const policy = parsePolicyJson(policyJson);
    const problems = rseProblems(policy, await this.rses(), unlocated("policy"));
    if (problems.length > 0) throw policyInvalid(problems);
    const { stored, walk } = await this.store.set(policy);
    log.info({ site: policy.site, subscriptions: policy.subscriptions.map((s) => s.name), retroactive: walk }, "site policy set");
    const walked = walk.length > 0 ? await this.retroactive.run(stored, walk) : { files: 0, rules: 0 };
    return { policy, retroactiveFiles: walked.files, retroactiveRules: walked.rules };
  }

  async show(site: string): Promise<Policy> {
    const stored = await this.store.get(site);
    if (!stored) {
      throw new OrreryError(ErrorCode.NOT_FOUND, `site "${site}" has no replication policy`, {
        hint: `set one with \`orrery dbb policy set ${site} FILE.yaml\``,
      });
    }
    return stored.policy;
  }

  /** New files of a registration request: resolves once their subscriptions' rules are made (never rejects). */
  applyNew(created: readonly CreatedFile[]): Promise<void> {
    return this.subscriber.apply(created);
  }

  /** New files from the JetStream consumer: queued, waiting only when the backlog is full. */
  enqueueNew(created: readonly CreatedFile[]): Promise<void> {
    return this.subscriber.enqueue(created);
  }

  /** Finishes what a crash left (every pending file, unfinished walks) in the background, then looks for leftovers now and then. */
  start(): void {
    this.runInBackground("recovery", async () => {
      const files = await this.subscriber.drain(Date.now(), () => this.stopped);
      if (files > 0) log.info({ files }, "subscriptions applied to files registered before a restart");
      await this.retroactive.resume();
    });
    const interval = this.opts.drainIntervalMs ?? 30_000;
    const tick = () => {
      // Files the subscriber is working on are not read again while it is busy.
      if (this.background || this.subscriber.busy()) return;
      this.runInBackground("drain", async () => {
        await this.subscriber.drain(Date.now() - (this.opts.drainAgeMs ?? 60_000), () => this.stopped);
      });
    };
    this.timer = setInterval(tick, interval);
    this.timer.unref();
  }

  /** One piece of background work at a time; the timer skips its turn while one runs. */
  private runInBackground(what: string, work: () => Promise<void>): void {
    this.background = work()
      .catch((err: unknown) => log.warn({ err }, `${what} of subscriptions failed; the next pass will retry`))
      .finally(() => (this.background = undefined));
  }

  /** Stops looking for leftovers and waits for the files in hand; what is left stays pending for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.background;
    await this.subscriber.idle();
  }
}
