// `retroactive: true`: a subscription also covers the files its site had
// before it was set (Rucio's add_subscription has the same flag; without it a
// subscription is checked against future data only). The scope's type index of each
// matched dataset type is scanned in batches, the files first registered at
// the site kept, and the rules made batch by batch; rules that exist are
// skipped, so a walk cut short by a crash is simply walked again.
import type { Redis } from "ioredis";
import { createLogger } from "../../common/logger.js";
import { Keys } from "../catalog/keys.js";
import type { PolicyStore, StoredPolicy } from "./policy-store.js";
import { jobsFor, matches, readCreatedFiles } from "./subscription-match.js";
import type { SubscriptionRules } from "./subscription-rules.js";

const log = createLogger("dbb-retroactive");

/** Names per SSCAN step and files per batch of rules. */
const SCAN_COUNT = 1000;
const BATCH = 2000;
/** Passes over a batch whose rules failed for a passing reason before the walk gives up (the mark stays for the next start). */
const MAX_TRIES = 5;

export interface RetroactiveResult {
  files: number;
  rules: number;
}

export class RetroactiveWalk {
  constructor(
    private readonly redis: Redis,
    private readonly store: PolicyStore,
    private readonly rules: SubscriptionRules,
  ) {}

  /** Makes the rules of a site's retroactive subscriptions (those named, or all) on its existing files; clears the site's mark when all are made. */
  async run(stored: StoredPolicy, names?: readonly string[]): Promise<RetroactiveResult> {
    const started = Date.now();
    const { site } = stored.policy;
    const result: RetroactiveResult = { files: 0, rules: 0 };
    let complete = true;
    for (const sub of stored.policy.subscriptions.filter((s) => s.retroactive && (names === undefined || names.includes(s.name)))) {
      for (const datasetType of sub.match.datasetType) {
        const key = Keys.typeIndex(sub.match.scope, datasetType);
        let cursor = "0";
        let names: string[] = [];
        const flush = async () => {
          const dids = names.map((n) => `${sub.match.scope}:${n}`);
          names = [];
          const files = (await readCreatedFiles(this.redis, dids, () => 0)).filter((f) => matches(sub, site, f));
          result.files += files.length;
          const jobs = files.flatMap((f) => jobsFor(site, sub, f.did));
          for (let attempt = 1; ; attempt++) {
            const made = await this.rules.make(jobs);
            result.rules += made.created;
            if (made.retry.size === 0) return;
            if (attempt >= MAX_TRIES) {
              complete = false;
              return;
            }
          }
        };
        do {
          const [next, batch] = await this.redis.sscan(key, cursor, "COUNT", SCAN_COUNT);
          cursor = next;
          names.push(...batch);
          if (names.length >= BATCH) await flush();
        } while (cursor !== "0");
        if (names.length > 0) await flush();
      }
    }
    if (complete) await this.store.retroactiveDone(site, stored.setAt);
    log.info({ site, files: result.files, rules: result.rules, complete, ms: Date.now() - started }, "retroactive subscriptions applied");
    return result;
  }

  /** Finishes the walks a crash (or lasting failures) left unfinished. */
  async resume(): Promise<void> {
    for (const site of await this.store.retroactivePending()) {
      const stored = await this.store.get(site);
      if (stored) await this.run(stored);
      else await this.store.retroactiveDone(site, 0);
    }
  }
}
