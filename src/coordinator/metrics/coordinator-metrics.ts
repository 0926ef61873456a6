// The coordinator's Prometheus metrics. Attempts and stage-in bytes are
// counted when an attempt's end is stored (the workload tells us after the
// journal's flush); quanta, queues, campaigns and agents are read from the
// in-memory indexes at scrape time, synchronously: a scrape never waits in
// the manager's mailbox, and reads are a few counters per campaign and site.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { createMetricsRegistry, enumLabel, LabelBudget, labelValue, metricsHandler } from "../../common/metrics.js";
import type { HttpHandler } from "../../common/http-server.js";
import { CampaignStates, Outcomes, QuantumStates, rseSites, type CampaignTable, type EndedAttempt, type WorkloadObserver } from "../workload/index.js";
import { StageSources, provenanceFigures, stageInBySource } from "../../common/provenance-figures.js";

/** Attempt outcomes as labels: the agent's outcome classes and the operator's cancel; anything else is "other". */
export const OUTCOME_LABELS: ReadonlySet<string> = new Set<string>([...Outcomes, "cancelled"]);
/** Distinct sites and agent kinds named in labels; later new ones are "other". */
const MAX_SITES = 64;
const MAX_KINDS = 8;
/** Campaigns shown by the quanta gauge at most (the table keeps ended ones too). */
const MAX_CAMPAIGNS = 1000;
/** Lost attempts remembered, to see their late results (FIFO beyond). */
const MAX_LOST_REMEMBERED = 50_000;

export interface ConnectedAgent {
  site: string;
  kind: string;
}

export class CoordinatorMetrics implements WorkloadObserver {
  readonly registry: Registry;
  private table: CampaignTable | undefined;
  private agents: () => Iterable<ConnectedAgent> = () => [];
  private readonly sites = new LabelBudget(MAX_SITES);
  private readonly kinds = new LabelBudget(MAX_KINDS);
  private readonly lost = new Set<string>();
  private readonly attempts: Counter<"campaign" | "task" | "site" | "outcome">;
  private readonly reopened: Counter<"campaign" | "task" | "site">;
  private readonly stageIn: Counter<"campaign" | "site" | "source">;
  private readonly leaseLatency: Histogram;

  constructor(registry: Registry = createMetricsRegistry()) {
    this.registry = registry;
    const registers = [registry];
    this.attempts = new Counter({
      name: "orrery_attempts_total",
      help: "Attempts ended, counted once their end is stored: by campaign, task, the agent's site and outcome (succeeded, payload_error, out_of_memory, timeout, preempted, lost, stage_in_error, stage_out_error, agent_error, out_of_disk, cancelled; other for anything else). A lost attempt whose agent reports after all is counted again with its real outcome (see orrery_attempts_reopened_total).",
      labelNames: ["campaign", "task", "site", "outcome"],
      registers,
    });
    this.reopened = new Counter({
      name: "orrery_attempts_reopened_total",
      help: "Attempts counted lost whose agent reported (or heartbeated) after all: their end is counted twice in orrery_attempts_total, so attempts = sum(orrery_attempts_total) - this.",
      labelNames: ["campaign", "task", "site"],
      registers,
    });
    this.stageIn = new Counter({
      name: "orrery_stage_in_bytes_total",
      help: "Input bytes of ended attempts by where the agent read them (its provenance record): cache (its LMDB cache), own_site (an RSE of its site), other_site (an RSE elsewhere, or one not known); by campaign and the agent's site.",
      labelNames: ["campaign", "site", "source"],
      registers,
    });
    this.leaseLatency = new Histogram({
      name: "orrery_lease_latency_seconds",
      help: "Seconds from the coordinator taking up an agent's request for work (a credit, or capacity a result freed) to the lease being sent: the scheduling turn and the Redis write of the lease. One observation per lease.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const self = this;
    new Gauge({
      name: "orrery_quanta",
      help: "Quanta by campaign and state (PENDING, READY, RUNNING, SUCCEEDED, FAILED, BLOCKED, CANCELLED, SKIPPED), from the coordinator's memory at scrape time.",
      labelNames: ["campaign", "state"],
      registers,
      collect() {
        this.reset();
        let n = 0;
        for (const c of self.table?.campaigns.values() ?? []) {
          if (n++ >= MAX_CAMPAIGNS) break;
          for (const state of QuantumStates) this.set({ campaign: labelValue(c.name), state }, c.counts[state]);
        }
      },
    });
    new Gauge({
      name: "orrery_campaigns",
      help: "Campaigns by state (RUNNING, PAUSED, SUCCEEDED, FAILED, CANCELLED) the coordinator holds.",
      labelNames: ["state"],
      registers,
      collect() {
        const counts = new Map<string, number>(CampaignStates.map((s) => [s, 0]));
        for (const c of self.table?.campaigns.values() ?? []) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
        this.reset();
        for (const [state, count] of counts) this.set({ state: enumLabel(state, new Set(CampaignStates)) }, count);
      },
    });
    new Gauge({
      name: "orrery_queue_depth",
      help: "READY quanta of running campaigns local to a site (their inputs are there or in its agents' caches), by site; a quantum local to two sites counts at both. orrery_ready_quanta has them all.",
      labelNames: ["site"],
      registers,
      collect() {
        this.reset();
        const table = self.table;
        if (!table) return;
        for (const [site, number] of table.replicas.siteNumbering) {
          let depth = 0;
          for (const c of table.campaigns.values()) if (c.state === "RUNNING") depth += c.ready.localTo(number);
          this.set({ site: self.sites.label(site) }, depth);
        }
      },
    });
    new Gauge({
      name: "orrery_ready_quanta",
      help: "READY quanta of running campaigns waiting for an agent, wherever their data is.",
      registers,
      collect() {
        let ready = 0;
        for (const c of self.table?.campaigns.values() ?? []) if (c.state === "RUNNING") ready += c.ready.size;
        this.set(ready);
      },
    });
    new Gauge({
      name: "orrery_agents",
      help: "Agents connected to this coordinator, by site and kind (hpc, spot, static).",
      labelNames: ["site", "kind"],
      registers,
      collect() {
        const counts = new Map<string, { site: string; kind: string; n: number }>();
        for (const a of self.agents()) {
          const site = self.sites.label(a.site);
          const kind = self.kinds.label(a.kind);
          const key = `${site}\u0000${kind}`;
          const entry = counts.get(key) ?? counts.set(key, { site, kind, n: 0 }).get(key)!;
          entry.n++;
        }
        this.reset();
        for (const { site, kind, n } of counts.values()) this.set({ site, kind }, n);
      },
    });
  }

  /** The manager's indexes (WorkloadObserver). */
  attach(table: CampaignTable): void {
    this.table = table;
  }

  /** The connected agents, read at scrape time. */
  watchAgents(agents: () => Iterable<ConnectedAgent>): void {
    this.agents = agents;
  }

  /** An attempt's end, stored (WorkloadObserver). */
  attemptEnded(a: EndedAttempt): void {
    const campaign = labelValue(a.campaign);
    const task = labelValue(a.task);
    const site = this.sites.label(a.site);
    if (this.lost.delete(a.leaseId)) this.reopened.inc({ campaign, task, site });
    if (a.outcome === "lost") this.rememberLost(a.leaseId);
    this.attempts.inc({ campaign, task, site, outcome: enumLabel(a.outcome, OUTCOME_LABELS) });
    const siteOf = this.table ? rseSites(this.table.replicas) : undefined;
    const bytes = stageInBySource(provenanceFigures(a.provenanceJson).inputs, (rse) => siteOf?.(rse, a.site) === "own");
    for (const source of StageSources) if (bytes[source] > 0) this.stageIn.inc({ campaign, site, source }, bytes[source]);
  }

  /** Leases sent `seconds` after the agent's request was taken up. */
  leased(seconds: number, leases: number): void {
    for (let i = 0; i < leases; i++) this.leaseLatency.observe(Math.max(0, seconds));
  }

  /** GET /metrics (an operator route). */
  get handler(): HttpHandler {
    return metricsHandler(this.registry);
  }

  private rememberLost(leaseId: string): void {
    this.lost.add(leaseId);
    if (this.lost.size > MAX_LOST_REMEMBERED) this.lost.delete(this.lost.values().next().value!);
  }

}
