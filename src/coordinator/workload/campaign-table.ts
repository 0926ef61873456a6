// The in-memory indexes the scheduler works on: campaigns, quanta, ready
// sets, state counts. Rebuilt from Redis at start-up; no I/O here.
import type { CampaignSpec, TaskDefinition } from "../campaign/spec.js";
import type { CampaignRecord, Quantum } from "./model.js";
import { nextState, QuantumStates, type QuantumEvent, type QuantumState } from "./quantum-state.js";

export interface LiveCampaign extends CampaignRecord {
  spec: CampaignSpec;
  taskByName: Map<string, TaskDefinition>;
  counts: Record<QuantumState, number>;
  taskCounts: Map<string, Record<QuantumState, number>>;
  /** READY quanta in the order they became ready. */
  ready: Set<string>;
  failures: number;
  kills: number;
}

export function emptyCounts(): Record<QuantumState, number> {
  return Object.fromEntries(QuantumStates.map((s) => [s, 0])) as Record<QuantumState, number>;
}

export class CampaignTable {
  readonly campaigns = new Map<string, LiveCampaign>();
  readonly quanta = new Map<string, Quantum>();

  addCampaign(record: CampaignRecord, spec: CampaignSpec): LiveCampaign {
    const live: LiveCampaign = {
      ...record,
      spec,
      taskByName: new Map(spec.tasks.map((t) => [t.name, t])),
      counts: emptyCounts(),
      taskCounts: new Map(spec.tasks.map((t) => [t.name, emptyCounts()])),
      ready: new Set(),
      failures: 0,
      kills: 0,
    };
    this.campaigns.set(record.name, live);
    return live;
  }

  removeCampaign(name: string): void {
    const c = this.campaigns.get(name);
    if (!c) return;
    for (const id of c.quantumIds) this.quanta.delete(id);
    this.campaigns.delete(name);
  }

  /** Adds a quantum to the indexes in its current state. */
  addQuantum(c: LiveCampaign, q: Quantum): void {
    this.quanta.set(q.id, q);
    this.count(c, q, q.progress.state, 1);
    if (q.progress.state === "READY") c.ready.add(q.id);
    c.failures += q.progress.failures;
    c.kills += q.progress.kills;
  }

  /** Applies a lifecycle event (an illegal one throws), keeping counts and the ready set in step. */
  transition(q: Quantum, event: QuantumEvent): void {
    const c = this.campaigns.get(q.campaign);
    if (!c) return;
    const prev = q.progress.state;
    const next = nextState(prev, event, q.id);
    this.count(c, q, prev, -1);
    this.count(c, q, next, 1);
    q.progress.state = next;
    if (next === "READY") c.ready.add(q.id);
    else c.ready.delete(q.id);
  }

  private count(c: LiveCampaign, q: Quantum, state: QuantumState, delta: number): void {
    c.counts[state] += delta;
    const t = c.taskCounts.get(q.task);
    if (t) t[state] += delta;
  }
}
