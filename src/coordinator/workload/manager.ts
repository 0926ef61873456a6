// The workload manager: one actor (a mailbox) owns every campaign and quantum
// of this coordinator. Each handler changes the in-memory indexes, persists
// what changed to Redis, and only then answers or emits.
import { Mailbox } from "../../common/mailbox.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CampaignSpec } from "../campaign/spec.js";
import type { PlannedGraph } from "../campaign/graph.js";
import type { CoordinatorStore } from "../store/redis-store.js";
import { CampaignTable, type LiveCampaign } from "./campaign-table.js";
import { selectQuanta, type AgentSlot } from "./scheduler.js";
import { buildQuanta, trimDownstream } from "./quantum-builder.js";
import { fillInputs, isDone, settleStates } from "./quantum-links.js";
import { campaignStateOf, finishAttempt, type AttemptReport, type ResultContext } from "./attempt-results.js";
import { ProgressJournal } from "./progress-journal.js";
import { DeferredExpander } from "./deferred-expander.js";
import { findReusable, type CatalogSource } from "./reuse-lookup.js";
import { initialProgress, memoryOf, newCampaignRecord, progressToStore, taskMemory } from "./initial-progress.js";
import type { CampaignRecord, Quantum, QuantumDefinition } from "./model.js";

export type { AttemptReport } from "./attempt-results.js";
export type { CatalogSource } from "./reuse-lookup.js";

export interface LeaseGrant {
  quantum: Quantum;
  campaign: LiveCampaign;
  leaseId: string;
  attempt: number;
  deadlineMs: number;
}

export class WorkloadManager {
  readonly table = new CampaignTable();
  private readonly mailbox = new Mailbox();
  private readonly journal: ProgressJournal;
  private readonly expander: DeferredExpander;
  private readonly results: ResultContext;

  constructor(
    private readonly store: CoordinatorStore,
    private readonly log: Logger,
    private readonly leaseTtlMs: number,
    /** Called after quanta became READY, so the dispatcher offers them to agents. */
    private readonly onWork: () => void,
    /** The DBB catalog: whether reusable outputs are still there; inputs of deferred tasks. */
    private readonly catalog: CatalogSource,
    /** Memory of the largest connected agent (an out-of-memory retry never asks for more). */
    largestAgentMemoryMB: () => number | undefined = () => undefined,
  ) {
    this.journal = new ProgressJournal(store, this.table);
    this.expander = new DeferredExpander({ table: this.table, store, catalog, log, onWork, send: (h) => this.mailbox.send(h) });
    this.results = { table: this.table, journal: this.journal, log, onWork, onDone: (name) => this.expander.wake(name), largestAgentMemoryMB };
  }

  async load(): Promise<void> {
    const now = Date.now();
    for (const stored of await this.store.loadAll()) {
      const spec = JSON.parse(stored.record.specJson) as CampaignSpec;
      const order = new Map(spec.tasks.map((t, i) => [t.name, i]));
      const byTaskThenSeq = (a: QuantumDefinition, b: QuantumDefinition) => (order.get(a.task) ?? 0) - (order.get(b.task) ?? 0) || seqOf(a.id) - seqOf(b.id);
      const defs = stored.definitions;
      // Usually saved in that order already: sort only when not.
      if (!isSorted(defs, byTaskThenSeq)) defs.sort(byTaskThenSeq);
      const record: CampaignRecord = { ...stored.record, quantumIds: defs.map((d) => d.id) };
      const live = this.table.addCampaign(record, spec);
      const memory = taskMemory(spec);
      // The parsed definitions become the quanta themselves (no copies).
      const quanta = defs as Quantum[];
      const byId = new Map<string, Quantum>();
      for (const q of quanta) {
        q.downstream = [];
        byId.set(q.id, q);
      }
      for (const q of quanta) for (const u of q.upstream) byId.get(u)?.downstream.push(q.id);
      trimDownstream(quanta);
      for (const q of quanta) {
        // No record: still in its first state.
        const progress = stored.progress.get(q.id) ?? initialProgress(q, memoryOf(memory, q.task));
        // Leases survive a restart: their agents get one TTL to reconnect and report.
        if (progress.lease) progress.lease.deadlineMs = now + this.leaseTtlMs;
        q.progress = progress;
        this.table.addQuantum(live, q);
      }
      // Inputs made upstream point at what was produced (definitions keep the plan).
      for (const id of live.quantumIds) {
        const q = this.table.quanta.get(id);
        for (const u of q?.upstream ?? []) {
          const up = this.table.quanta.get(u);
          if (q && up && isDone(up.progress.state)) fillInputs(q, up);
        }
      }
      // A deferred expansion a crash interrupted runs now.
      this.expander.wake(live.name);
    }
    this.log.info({ campaigns: this.table.campaigns.size, quanta: this.table.quanta.size }, "state loaded");
  }

  /**
   * Stores and queues a campaign, replacing an ended one of the same name.
   * With `reuse`, quanta identical to ones that already succeeded, whose
   * outputs are still there, are SKIPPED and their consumers read those outputs.
   */
  submit(spec: CampaignSpec, graph: PlannedGraph): Promise<{ campaign: string; quanta: number }> {
    // Not async itself: nothing holds the planned graph once its quanta are built,
    // so it can be collected while the rest (a gigabyte of JSON at a million quanta) is stored.
    let quanta: Quantum[];
    try {
      this.refuseLive(spec.name);
      quanta = buildQuanta(spec, graph);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.submitQuanta(spec, quanta);
  }

  private async submitQuanta(spec: CampaignSpec, quanta: Quantum[]): Promise<{ campaign: string; quanta: number }> {
    const reused = spec.reuse ? await findReusable(this.store, this.catalog, quanta) : new Map<string, Quantum["progress"]["produced"]>();
    settleAll(quanta, reused);
    return this.mailbox.send(async () => {
      this.refuseLive(spec.name);
      const record = newCampaignRecord(spec, quanta, Date.now());
      // Its state from its counts, worked out on a scratch table before anything is stored.
      const scratch = new CampaignTable();
      const view = scratch.addCampaign(record, spec);
      for (const q of quanta) scratch.addQuantum(view, q);
      record.state = campaignStateOf(view);
      if (record.state === "SUCCEEDED" || record.state === "FAILED") record.finishedMs = record.createdMs;
      await this.store.saveCampaign(record, quanta, progressToStore(spec, quanta));
      this.table.removeCampaign(spec.name);
      const live = this.table.addCampaign(record, spec);
      for (const q of quanta) this.table.addQuantum(live, q);
      this.log.info({ campaign: spec.name, quanta: quanta.length, ready: live.ready.size, skipped: reused.size, deferred: record.tasks.length - record.expanded.length }, "campaign submitted");
      this.onWork();
      this.expander.wake(spec.name);
      return { campaign: spec.name, quanta: quanta.length };
    });
  }

  private refuseLive(name: string): void {
    const existing = this.table.campaigns.get(name);
    if (existing && (existing.state === "RUNNING" || existing.state === "PAUSED")) {
      throw new OrreryError(ErrorCode.ALREADY_EXISTS, `campaign ${name} is still ${existing.state}`, {
        hint: "wait for it to end, cancel it, or give the new one another name",
      });
    }
  }

  /** Picks quanta for an agent's free slot and marks them RUNNING (persisted before the leases go out). */
  lease(agent: AgentSlot): Promise<LeaseGrant[]> {
    return this.mailbox.send(async () => {
      const now = Date.now();
      const picked = selectQuanta(this.table, agent, now);
      const grants: LeaseGrant[] = [];
      for (const q of picked) {
        const c = this.table.campaigns.get(q.campaign)!;
        const attempt = q.progress.attempts.length + 1;
        const leaseId = `${q.id}#${attempt}`;
        const deadlineMs = now + this.leaseTtlMs;
        this.table.transition(q, "leased");
        q.progress.lease = { id: leaseId, agent: agent.id, deadlineMs };
        q.progress.attempts.push({ number: attempt, agent: agent.id, site: agent.site, leaseId, outcome: "", exitCode: 0, message: "", startMs: now, endMs: 0 });
        this.journal.touch(q);
        grants.push({ quantum: q, campaign: c, leaseId, attempt, deadlineMs });
      }
      await this.journal.flush();
      return grants;
    });
  }

  /** An attempt's result. Returns once it is persisted (the agent may then forget it). */
  report(agentId: string, r: AttemptReport): Promise<void> {
    return this.mailbox.send(async () => {
      const q = this.table.quanta.get(r.quantumId);
      if (!q || q.progress.lease?.id !== r.leaseId || q.progress.state !== "RUNNING") {
        this.log.info({ agent: agentId, lease: r.leaseId }, "result for a lease no longer current; ignored");
        return;
      }
      await this.store.saveAttemptRecords(q.id, r.attempt, { stdout: r.stdout, stderr: r.stderr }, withIdentity(r.provenanceJson, q.identity));
      finishAttempt(this.results, q, r);
      await this.journal.flush();
    });
  }

  /** Renews the leases an agent says it is still running. */
  renew(agentId: string, leaseIds: readonly string[]): void {
    const deadline = Date.now() + this.leaseTtlMs;
    for (const id of leaseIds) {
      const q = this.table.quanta.get(id.slice(0, id.lastIndexOf("#")));
      if (q?.progress.lease?.id === id && q.progress.lease.agent === agentId) q.progress.lease.deadlineMs = deadline;
    }
  }

  /** Leases past their deadline: the agent is lost; the quantum is killed, not failed. */
  expire(): Promise<void> {
    return this.mailbox.send(async () => {
      const now = Date.now();
      this.expander.retryDue(now);
      for (const q of this.table.quanta.values()) {
        const lease = q.progress.lease;
        if (q.progress.state !== "RUNNING" || !lease || lease.deadlineMs > now) continue;
        this.log.warn({ quantum: q.id, agent: lease.agent }, "lease expired; agent lost");
        finishAttempt(this.results, q, { leaseId: lease.id, quantumId: q.id, attempt: q.progress.attempts.length, outcome: "lost", exitCode: -1, message: `agent ${lease.agent} stopped heartbeating`, startMs: 0, endMs: now, outputs: [], stdout: "", stderr: "", provenanceJson: "" });
      }
      await this.journal.flush();
    });
  }
}

/** settleStates over freshly built quanta; its index of them is dropped on return (not kept by the submit's closures). */
function settleAll(quanta: readonly Quantum[], reused: ReadonlyMap<string, Quantum["progress"]["produced"]>): void {
  const byId = new Map(quanta.map((q) => [q.id, q]));
  settleStates(quanta, reused, (id) => byId.get(id));
}

/** The identity goes into the provenance record: the coordinator knows it, the agent does not. */
function withIdentity(provenanceJson: string, identity: string): string {
  try {
    const record: unknown = JSON.parse(provenanceJson);
    if (record !== null && typeof record === "object" && !Array.isArray(record)) return JSON.stringify({ ...record, identity });
  } catch {
    // Not JSON: kept as the agent sent it.
  }
  return provenanceJson;
}

function isSorted<T>(items: readonly T[], compare: (a: T, b: T) => number): boolean {
  for (let i = 1; i < items.length; i++) if (compare(items[i - 1]!, items[i]!) > 0) return false;
  return true;
}

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(".") + 1));
}

