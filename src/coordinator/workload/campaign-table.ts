// The in-memory indexes the scheduler works on: campaigns, their quantum rows,
// ready sets, state counts. Rebuilt from Redis at start-up; no I/O here.
import type { CampaignSpec, TaskDefinition } from "../campaign/index.js";
import type { CampaignRecord, TicketRecord } from "./model.js";
import { QuantumRows, type Links, type RowBatch } from "./quantum-rows.js";
import { ReadyQueue } from "./ready-queue.js";
import { ReplicaIndex } from "./replica-index.js";
import { QuantumStates, type QuantumEvent, type QuantumState } from "./quantum-state.js";
import type { AttemptFigures } from "./attempt-figures.js";
import { emptyAccounting, type CampaignAccounting } from "./accounting.js";

export interface LiveCampaign extends CampaignRecord {
  spec: CampaignSpec;
  taskByName: Map<string, TaskDefinition>;
  rows: QuantumRows;
  counts: Record<QuantumState, number>;
  taskCounts: Map<string, Record<QuantumState, number>>;
  /** READY rows, arranged for locality (iterates in the order they became ready). */
  ready: ReadyQueue;
  failures: number;
  kills: number;
  attemptFigures: AttemptFigures;
  /** Tickets of its FAILED quanta (open, or closed since), by quantum id (tickets.ts). */
  tickets: Map<string, TicketRecord>;
  accounting: CampaignAccounting;
}

/** One quantum: a row of a campaign. */
export interface QuantumRef {
  c: LiveCampaign;
  row: number;
}

export function emptyCounts(): Record<QuantumState, number> {
  return Object.fromEntries(QuantumStates.map((s) => [s, 0])) as Record<QuantumState, number>;
}

/** Memory of a task's first attempt (MB); 1024 for a task the spec does not name. */
export function taskMemoryOf(spec: Pick<CampaignSpec, "tasks">): (task: string) => number {
  const memory = new Map(spec.tasks.map((t) => [t.name, t.resources.memoryMB]));
  return (task) => memory.get(task) ?? 1024;
}

/** Told of the table's changes (the journal's events). */
export interface TableObserver {
  /** A campaign was added (loaded or submitted) in its current state. */
  added(c: LiveCampaign): void;
  /** A quantum changed state. */
  transitioned(c: LiveCampaign, row: number, state: QuantumState): void;
}

export class CampaignTable {
  readonly campaigns = new Map<string, LiveCampaign>();
  observer: TableObserver | undefined;

  constructor(
    /** Where input files are: shared by every campaign (and a submit's scratch table). */
    readonly replicas = new ReplicaIndex(),
    readonly clock: () => number = Date.now,
  ) {}

  /** A campaign with no quanta yet (or those of `rows`, counted with addRows), and its stored tickets (those of its generation). */
  addCampaign(record: CampaignRecord, spec: CampaignSpec, rows = new QuantumRows(record.name, taskMemoryOf(spec)), tickets?: readonly TicketRecord[]): LiveCampaign {
    const live: LiveCampaign = {
      ...record,
      spec,
      taskByName: new Map(spec.tasks.map((t) => [t.name, t])),
      rows,
      counts: emptyCounts(),
      taskCounts: new Map(spec.tasks.map((t) => [t.name, emptyCounts()])),
      ready: new ReadyQueue(rows, this.replicas, this.clock),
      failures: 0,
      kills: 0,
      // A copy: the stored record's figures go on from where they were.
      attemptFigures: structuredClone(record.attemptFigures ?? {}),
      // Only its generation's: a flush of the campaign it replaced may have stored one after the resubmit.
      tickets: new Map((tickets ?? []).filter((t) => t.generation === record.generation).map((t) => [t.quantum, t])),
      accounting: structuredClone(record.accounting ?? emptyAccounting()),
    };
    this.campaigns.set(record.name, live);
    this.observer?.added(live);
    return live;
  }

  removeCampaign(name: string): void {
    this.campaigns.delete(name);
  }

  /** Appends a batch of rows to a campaign, its input files numbered in the replica index; returns the first new row. */
  appendRows(c: Pick<LiveCampaign, "rows">, batch: RowBatch): number {
    return c.rows.append(batch, batch.inputs && fileLinks(this.replicas, batch.inputs));
  }

  /** The quantum of an id (`<campaign>.<task>.<seq>`), if there is one. */
  find(id: string): QuantumRef | undefined {
    const c = this.campaigns.get(id.slice(0, id.indexOf(".")));
    const row = c?.rows.rowOf(id);
    return c && row !== undefined ? { c, row } : undefined;
  }

  /** Adds rows from..to-1 of the campaign to the indexes in their current state. */
  addRows(c: LiveCampaign, from: number, to = c.rows.length): void {
    const rows = c.rows;
    for (const r of rows.ranges) {
      const lo = Math.max(from, r.start);
      const hi = Math.min(to, r.start + r.count);
      const t = c.taskCounts.get(r.task);
      for (let row = lo; row < hi; row++) {
        const s = rows.state(row);
        c.counts[s]++;
        if (t) t[s]++;
        if (s === "READY") c.ready.add(row);
        c.failures += rows.failures(row);
        c.kills += rows.kills(row);
      }
    }
  }

  /** Applies a lifecycle event (an illegal one throws), keeping counts and the ready set in step. */
  transition(c: LiveCampaign, row: number, event: QuantumEvent): void {
    const prev = c.rows.state(row);
    const next = c.rows.apply(row, event);
    this.count(c, row, prev, -1);
    this.count(c, row, next, 1);
    if (next === "READY") c.ready.add(row);
    else c.ready.delete(row);
    this.observer?.transitioned(c, row, next);
  }

  private count(c: LiveCampaign, row: number, state: QuantumState, delta: number): void {
    c.counts[state] += delta;
    const t = c.taskCounts.get(c.rows.task(row));
    if (t) t[state] += delta;
  }
}

/**
 * A batch's input links with its local file indexes turned into ReplicaIndex
 * file numbers; the RSEs the expansion saw become the files' replicas.
 */
function fileLinks(replicas: ReplicaIndex, inputs: NonNullable<RowBatch["inputs"]>): Links {
  const numbers = inputs.dids.map((did, i) => {
    const f = replicas.file(did, inputs.bytes[i]);
    const rses = inputs.rses?.[i];
    if (rses) replicas.setReplicas(f, rses);
    return f;
  });
  return { start: inputs.links.start, rows: inputs.links.rows.map((k) => numbers[k]!) };
}

/** Picked quanta grouped by campaign, in first-picked order. */
export function groupByCampaign(picked: readonly QuantumRef[]): [LiveCampaign, number[]][] {
  const out = new Map<LiveCampaign, number[]>();
  for (const { c, row } of picked) (out.get(c) ?? out.set(c, []).get(c)!).push(row);
  return [...out];
}
