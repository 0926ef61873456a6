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
import { campaignStateFor, TERMINAL, type QuantumState } from "./quantum-state.js";
import { decideRetry } from "./retry-policy.js";
import { selectQuanta, type AgentSlot } from "./scheduler.js";
import { buildQuanta } from "./quantum-builder.js";
import type { CampaignRecord, ProducedReplica, Quantum, QuantumProgress } from "./model.js";

export interface AttemptReport {
  leaseId: string;
  quantumId: string;
  attempt: number;
  outcome: string;
  exitCode: number;
  message: string;
  startMs: number;
  endMs: number;
  outputs: ProducedReplica[];
  stdout: string;
  stderr: string;
  provenanceJson: string;
}

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
  /** Quanta whose progress changed in the current handler, per campaign. */
  private dirty = new Map<string, Map<string, QuantumProgress>>();

  constructor(
    private readonly store: CoordinatorStore,
    private readonly log: Logger,
    private readonly leaseTtlMs: number,
    /** Called after quanta became READY, so the dispatcher offers them to agents. */
    private readonly onWork: () => void,
  ) {}

  async load(): Promise<void> {
    const now = Date.now();
    for (const stored of await this.store.loadAll()) {
      const spec = JSON.parse(stored.record.specJson) as CampaignSpec;
      const order = new Map(spec.tasks.map((t, i) => [t.name, i]));
      const defs = stored.definitions.sort((a, b) => (order.get(a.task) ?? 0) - (order.get(b.task) ?? 0) || seqOf(a.id) - seqOf(b.id));
      const record: CampaignRecord = { ...stored.record, quantumIds: defs.map((d) => d.id) };
      const live = this.table.addCampaign(record, spec);
      const downstream = new Map<string, string[]>();
      for (const d of defs) for (const u of d.upstream) (downstream.get(u) ?? downstream.set(u, []).get(u)!).push(d.id);
      for (const d of defs) {
        const progress = stored.progress.get(d.id);
        if (!progress) continue;
        // Leases survive a restart: their agents get one TTL to reconnect and report.
        if (progress.lease) progress.lease.deadlineMs = now + this.leaseTtlMs;
        this.table.addQuantum(live, { ...d, progress, downstream: downstream.get(d.id) ?? [] });
      }
    }
    this.log.info({ campaigns: this.table.campaigns.size, quanta: this.table.quanta.size }, "state loaded");
  }

  submit(spec: CampaignSpec, graph: PlannedGraph): Promise<{ campaign: string; quanta: number }> {
    return this.mailbox.send(async () => {
      const existing = this.table.campaigns.get(spec.name);
      if (existing && (existing.state === "RUNNING" || existing.state === "PAUSED")) {
        throw new OrreryError(ErrorCode.ALREADY_EXISTS, `campaign ${spec.name} is still ${existing.state}`, {
          hint: "wait for it to end, cancel it, or give the new one another name",
        });
      }
      const quanta = buildQuanta(spec, graph);
      const record: CampaignRecord = {
        name: spec.name,
        state: "RUNNING",
        priority: spec.priority,
        share: spec.share,
        createdMs: Date.now(),
        finishedMs: 0,
        specJson: JSON.stringify(spec),
        quantumIds: quanta.map((q) => q.id),
        tasks: spec.tasks.map((t) => t.name),
      };
      if (quanta.length === 0) Object.assign(record, { state: "SUCCEEDED", finishedMs: record.createdMs });
      await this.store.saveCampaign(record, quanta, new Map(quanta.map((q) => [q.id, q.progress])));
      this.table.removeCampaign(spec.name);
      const live = this.table.addCampaign(record, spec);
      for (const q of quanta) this.table.addQuantum(live, q);
      this.log.info({ campaign: spec.name, quanta: quanta.length, ready: live.ready.size }, "campaign submitted");
      this.onWork();
      return { campaign: spec.name, quanta: quanta.length };
    });
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
        this.touch(q);
        grants.push({ quantum: q, campaign: c, leaseId, attempt, deadlineMs });
      }
      await this.flush();
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
      await this.store.saveAttemptRecords(q.id, r.attempt, { stdout: r.stdout, stderr: r.stderr }, r.provenanceJson);
      this.finishAttempt(q, r);
      await this.flush();
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
      for (const q of this.table.quanta.values()) {
        const lease = q.progress.lease;
        if (q.progress.state !== "RUNNING" || !lease || lease.deadlineMs > now) continue;
        this.log.warn({ quantum: q.id, agent: lease.agent }, "lease expired; agent lost");
        this.finishAttempt(q, { leaseId: lease.id, quantumId: q.id, attempt: q.progress.attempts.length, outcome: "lost", exitCode: -1, message: `agent ${lease.agent} stopped heartbeating`, startMs: 0, endMs: now, outputs: [], stdout: "", stderr: "", provenanceJson: "" });
      }
      await this.flush();
    });
  }

  private finishAttempt(q: Quantum, r: AttemptReport): void {
    const c = this.table.campaigns.get(q.campaign)!;
    const attempt = q.progress.attempts[q.progress.attempts.length - 1];
    if (attempt) Object.assign(attempt, { outcome: r.outcome, exitCode: r.exitCode, message: r.message, endMs: r.endMs || Date.now(), ...(r.startMs ? { startMs: r.startMs } : {}) });
    delete q.progress.lease;
    if (r.outcome === "succeeded") {
      q.progress.produced = r.outputs;
      this.table.transition(q, "succeeded");
      this.touch(q);
      this.release(q);
    } else {
      const d = decideRetry(r.outcome, r.exitCode, q.progress, c.spec.retries, Date.now());
      q.progress[d.counter] += 1;
      if (d.counter === "failures") c.failures++;
      if (d.counter === "kills") c.kills++;
      q.progress.memoryMB = d.memoryMB;
      q.progress.readyAtMs = d.readyAtMs;
      this.log.info({ quantum: q.id, outcome: r.outcome, retry: d.retry, reason: d.reason }, "attempt did not succeed");
      this.table.transition(q, d.retry ? "retry" : "failed");
      this.touch(q);
      if (!d.retry) this.block(q);
      else this.onWork();
    }
    this.updateCampaignState(c);
  }

  /** Downstream quanta whose upstream all succeeded become READY, with the produced files as inputs. */
  private release(q: Quantum): void {
    let any = false;
    for (const id of q.downstream) {
      const d = this.table.quanta.get(id);
      if (!d || d.progress.state !== "PENDING") continue;
      for (const input of d.inputs) {
        const made = input.producer === q.id ? q.progress.produced.find((p) => p.did === input.did) : undefined;
        if (made) Object.assign(input, { bytes: made.bytes, adler32: made.adler32, md5: made.md5, rses: [made.rse] });
      }
      if (d.upstream.every((u) => isDone(this.table.quanta.get(u)?.progress.state))) {
        this.table.transition(d, "inputs_ready");
        this.touch(d);
        any = true;
      }
    }
    if (any) this.onWork();
  }

  private block(q: Quantum): void {
    const stack = [...q.downstream];
    while (stack.length > 0) {
      const d = this.table.quanta.get(stack.pop()!);
      if (!d || (d.progress.state !== "PENDING" && d.progress.state !== "READY")) continue;
      this.table.transition(d, "upstream_failed");
      this.touch(d);
      stack.push(...d.downstream);
    }
  }

  private updateCampaignState(c: LiveCampaign): void {
    const next = campaignStateFor(c.counts, c.state);
    if (next === c.state) return;
    c.state = next;
    if (next === "SUCCEEDED" || next === "FAILED") c.finishedMs = Date.now();
    this.log.info({ campaign: c.name, state: next }, "campaign state");
    this.dirtyCampaigns.add(c.name);
  }

  private readonly dirtyCampaigns = new Set<string>();

  private touch(q: Quantum): void {
    (this.dirty.get(q.campaign) ?? this.dirty.set(q.campaign, new Map()).get(q.campaign)!).set(q.id, q.progress);
  }

  private async flush(): Promise<void> {
    const dirty = this.dirty;
    this.dirty = new Map();
    for (const [campaign, updates] of dirty) await this.store.saveProgress(campaign, updates);
    for (const name of this.dirtyCampaigns) {
      const c = this.table.campaigns.get(name);
      if (c) await this.store.updateCampaign(c);
    }
    this.dirtyCampaigns.clear();
  }
}

function isDone(state: QuantumState | undefined): boolean {
  return state === "SUCCEEDED" || state === "SKIPPED";
}

function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(".") + 1));
}

export { TERMINAL };
