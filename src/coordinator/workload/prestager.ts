// The pre-stager (DESIGN.md, Pre-staging): every few seconds it asks the
// workload manager which waiting quanta to stage where (prestage-plan.ts:
// in-memory tables, in the manager's mailbox, no I/O), then asks the DBB for
// one transient rule per missing input file at the target site's RSE. When
// a copy lands, the DBB's replica event makes those quanta local there: the
// scheduler needs nothing else. Pre-staging only ever saves time, so a
// failure is logged and counted, and the file asked for again later; it
// never reaches the scheduler.
import { ErrorCode, isOrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { StorageTier } from "../../gen/orrery/v1/common_pb.js";
import { PrestageLedger } from "./prestage-ledger.js";
import type { PrestageOrder, PrestageSite, PrestageTurnOptions, SiteCapacity } from "./prestage-plan.js";

export interface PrestagerOptions extends PrestageTurnOptions {
  intervalMs: number;
  /** Rule requests in flight at once. */
  concurrency: number;
  /** How long after a failed request its file may be asked for again. */
  retryMs: number;
  /** How long the RSE list (which RSE of a site rules bring files to) is kept. */
  rseTtlMs: number;
}

export const DEFAULT_PRESTAGE: PrestagerOptions = {
  intervalMs: 2000,
  lifetimeMs: 2 * 3600_000,
  quantaPerCore: 4,
  maxQuantaPerPass: 256,
  maxFilesPerPass: 1024,
  stagedTimeoutMs: 10 * 60_000,
  concurrency: 8,
  retryMs: 60_000,
  rseTtlMs: 30_000,
};

/** The DBB as the pre-stager uses it (DbbClient). */
export interface RuleSink {
  ruleAdd(rule: { did: string; rseExpression: string; copies: number; lifetime: string; grouping: string }): Promise<unknown>;
  rseList(): Promise<readonly { name: string; site: string; tier: StorageTier; output: boolean }[]>;
}

/** The manager's side: one planning turn in its mailbox. */
export interface PrestagePlanner {
  prestage(sites: readonly PrestageSite[], ledger: PrestageLedger, opts: PrestageTurnOptions): Promise<PrestageOrder[]>;
}

export interface PrestageCounts {
  passes: number;
  quanta: number;
  rules: number;
  /** Rules the DBB had already (asked before a restart, or by an operator): as good as new ones. */
  duplicates: number;
  failures: number;
}

type State = { kind: "idle" } | { kind: "waiting"; timer: NodeJS.Timeout } | { kind: "running"; pass: Promise<void> } | { kind: "stopped" };

export class Prestager {
  private readonly ledger = new PrestageLedger();
  private state: State = { kind: "idle" };
  private rses: { atMs: number; bySite: Map<string, string> } | undefined;
  readonly counts: PrestageCounts = { passes: 0, quanta: 0, rules: 0, duplicates: 0, failures: 0 };

  constructor(
    private readonly planner: PrestagePlanner,
    private readonly sites: () => SiteCapacity[],
    private readonly dbb: RuleSink,
    private readonly log: Logger,
    private readonly opts: PrestagerOptions = DEFAULT_PRESTAGE,
  ) {}

  start(): void {
    if (this.state.kind === "idle") this.wait();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    const s = this.state;
    this.state = { kind: "stopped" };
    if (s.kind === "waiting") clearTimeout(s.timer);
    if (s.kind === "running") await s.pass;
  }

  private wait(): void {
    const timer = setTimeout(() => {
      // The next pass is timed from the end of this one: passes never overlap.
      const again = () => {
        if (this.state.kind === "running") this.wait();
      };
      const pass = this.pass().then(again, (err: unknown) => {
        this.log.error({ err }, "pre-staging pass failed");
        again();
      });
      this.state = { kind: "running", pass };
    }, this.opts.intervalMs);
    timer.unref();
    this.state = { kind: "waiting", timer };
  }

  /** One pass: plan in the manager's mailbox, then the rule requests. */
  async pass(): Promise<void> {
    const capacity = this.sites();
    // No free slot anywhere: nothing for a copy to feed.
    if (!capacity.some((s) => s.agents > 0 && s.freeCores > 0)) return;
    const bySite = await this.targetRses();
    if (!bySite) return;
    const orders = await this.planner.prestage(
      capacity.map((s) => ({ ...s, rse: bySite.get(s.site) })),
      this.ledger,
      this.opts,
    );
    this.counts.passes++;
    for (const o of orders) {
      this.counts.quanta += o.quanta.length;
      this.log.info({ site: o.site, rse: o.rse, quanta: o.quanta.length, files: o.files.length, first: o.quanta[0] }, "pre-staging the inputs of waiting quanta");
    }
    await Promise.all(orders.map((o) => this.request(o)));
  }

  /** The rules of one target, `concurrency` requests at a time over every order of the pass. */
  private async request(order: PrestageOrder): Promise<void> {
    const lifetime = `${Math.max(1, Math.round(this.opts.lifetimeMs / 1000))}s`;
    const failed: unknown[] = [];
    let next = 0;
    const worker = async () => {
      while (next < order.files.length) {
        const { file, did } = order.files[next++]!;
        try {
          await this.dbb.ruleAdd({ did, rseExpression: order.rse, copies: 1, lifetime, grouping: "NONE" });
          this.counts.rules++;
        } catch (err) {
          if (isOrreryError(err, ErrorCode.ALREADY_EXISTS)) {
            this.counts.duplicates++;
            continue;
          }
          this.counts.failures++;
          failed.push(err);
          this.ledger.markFailed(order.siteNumber, file, Date.now() + this.opts.retryMs);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, order.files.length) }, worker));
    // One line per target and pass, not one per file: a DBB that is down would flood the log.
    if (failed.length > 0) {
      this.log.warn({ err: failed[0], site: order.site, rse: order.rse, failed: failed.length, of: order.files.length }, "the DBB did not take pre-staging rules; those files are asked for again later");
    }
  }

  /** Each site's RSE to stage to: its output RSE, else a disk RSE of the site; undefined when the DBB cannot say. */
  private async targetRses(): Promise<Map<string, string> | undefined> {
    const now = Date.now();
    if (this.rses && now - this.rses.atMs < this.opts.rseTtlMs) return this.rses.bySite;
    try {
      const bySite = new Map<string, string>();
      const list = await this.dbb.rseList();
      for (const r of list) if (r.output) bySite.set(r.site, r.name);
      for (const r of list) if (!bySite.has(r.site) && r.tier === StorageTier.DISK) bySite.set(r.site, r.name);
      this.rses = { atMs: now, bySite };
      return bySite;
    } catch (err) {
      this.counts.failures++;
      this.log.warn({ err }, "could not read the RSE list from the DBB; no pre-staging until it answers");
      return undefined;
    }
  }
}
