// The dbb's Prometheus metrics (`--metrics ADDR`): bytes copied between RSEs,
// transfer tries by how they ended, replicas registered, and rules by state.
// Rules are counted at scrape time from Redis, at most MAX_RULES_COUNTED of
// them and at most once per RULES_TTL_MS: a big catalog is not read whole on
// every scrape (orrery_rules_known says how many there are).
import { Counter, Gauge, type Registry } from "prom-client";
import { createMetricsRegistry, LabelBudget, OTHER } from "../common/metrics.js";
import type { TransferObserver } from "./transfers/index.js";
import type { RuleState } from "./rules/index.js";

export const RULE_STATES: readonly RuleState[] = ["OK", "REPLICATING", "STUCK", "SUSPENDED"];
const MAX_RULES_COUNTED = 10_000;
const RULES_TTL_MS = 15_000;
/** Distinct RSE names in labels at most (beyond: "other"). */
const MAX_RSES = 256;

/** What the rule gauge reads: how many rules there are, and the states of up to `limit` of them. */
export interface RuleCounter {
  count(): Promise<number>;
  states(limit: number): Promise<RuleState[]>;
}

interface RulesRead {
  known: number;
  byState: Map<RuleState, number>;
}

export class DbbMetrics implements TransferObserver {
  readonly registry: Registry;
  private readonly bytes: Counter<"source_rse" | "dest_rse">;
  private readonly transfers: Counter<"state">;
  private readonly registered: Counter;
  private readonly rses = new LabelBudget(MAX_RSES);
  private known = new Set<string>();
  private rulesRead: { at: number; read: Promise<RulesRead> } | undefined;

  constructor(
    private readonly rules: RuleCounter | undefined,
    /** The catalog's RSE names: labels name these only. */
    private readonly rseNames: () => Promise<readonly string[]>,
    registry: Registry = createMetricsRegistry(),
  ) {
    this.registry = registry;
    const registers = [registry];
    this.bytes = new Counter({ name: "orrery_transfer_bytes_total", help: "Bytes copied and verified by this process's transfer workers, by source and destination RSE.", labelNames: ["source_rse", "dest_rse"], registers });
    this.transfers = new Counter({
      name: "orrery_transfers_total",
      help: "Transfer tries by how they ended: done (copied and recorded), retry (failed, tried again later), failed (for good: the locks are STUCK).",
      labelNames: ["state"],
      registers,
    });
    for (const state of ["done", "retry", "failed"]) this.transfers.inc({ state }, 0);
    this.registered = new Counter({ name: "orrery_replicas_registered_total", help: "Replica registrations (agents' outputs, ingests) this dbb applied from the registration stream.", registers });
    if (!rules) return;
    const self = this;
    new Gauge({
      name: "orrery_rules",
      help: `Replication rules by state (OK, REPLICATING, STUCK, SUSPENDED), counted from Redis at most every ${RULES_TTL_MS / 1000} s and over at most ${MAX_RULES_COUNTED} rules.`,
      labelNames: ["state"],
      registers,
      async collect() {
        // Redis not answering: the last values stay, the rest of /metrics is still served.
        const read = await self.readRules().catch(() => undefined);
        if (!read) return;
        for (const state of RULE_STATES) this.set({ state }, read.byState.get(state) ?? 0);
      },
    });
    new Gauge({
      name: "orrery_rules_known",
      help: "Replication rules in the catalog (orrery_rules counts the states of the first ones only when there are more).",
      registers,
      async collect() {
        const read = await self.readRules().catch(() => undefined);
        if (read) this.set(read.known);
      },
    });
  }

  /** Registrations applied from the stream. */
  replicasRegistered(n: number): void {
    if (n > 0) this.registered.inc(n);
  }

  copied(sourceRse: string, destRse: string, bytes: number): void {
    const n = Number.isFinite(bytes) && bytes > 0 ? bytes : 0;
    const count = () => this.bytes.inc({ source_rse: this.rse(sourceRse), dest_rse: this.rse(destRse) }, n);
    // An RSE added since the names were read: read them again first.
    if (this.known.has(sourceRse) && this.known.has(destRse)) count();
    else this.learnRses().then(count, () => undefined);
  }

  ended(state: "done" | "retry" | "failed"): void {
    this.transfers.inc({ state });
  }

  /** Reads the catalog's RSE names (at start and when a copy names one not known). */
  async learnRses(): Promise<void> {
    try {
      this.known = new Set(await this.rseNames());
    } catch {
      // The catalog did not answer: labels stay as they were.
    }
  }

  private rse(name: string): string {
    return this.known.has(name) ? this.rses.label(name) : OTHER;
  }

  /** The rule counts, read again once RULES_TTL_MS old; the gauges of one scrape share one read. */
  private readRules(): Promise<RulesRead> {
    if (this.rulesRead && Date.now() - this.rulesRead.at < RULES_TTL_MS) return this.rulesRead.read;
    const read = (async () => {
      const [known, states] = await Promise.all([this.rules!.count(), this.rules!.states(MAX_RULES_COUNTED)]);
      const byState = new Map<RuleState, number>();
      for (const s of states) byState.set(s, (byState.get(s) ?? 0) + 1);
      return { known, byState };
    })();
    this.rulesRead = { at: Date.now(), read };
    // A failed read is not kept: the next scrape tries again.
    read.catch(() => (this.rulesRead = undefined));
    return read;
  }
}
