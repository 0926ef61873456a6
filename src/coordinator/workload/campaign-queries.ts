// Read-only views of the manager's tables, made inside its mailbox: what
// `status`, `quanta`, `config`, `logs` and `provenance` answer from.
import type { CampaignSpec } from "../campaign/spec.js";
import type { QuantaStore } from "./quanta-store.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { QuantumRows } from "./quantum-rows.js";
import { resolvedDefinitions } from "./definition-lookup.js";
import type { AttemptRecord, QuantumDefinition } from "./model.js";
import type { QuantumState } from "./quantum-state.js";
import type { CampaignState } from "./campaign-state.js";
import { unschedulableTasks, type AgentCapacity, type UnschedulableTask } from "./unschedulable.js";
import type { KindFigures } from "./attempt-figures.js";
export { reportOf, type CampaignReport } from "./accounting-report.js";

export interface CampaignStatusView {
  campaign: string;
  state: CampaignState;
  priority: number;
  share: number;
  /** States with at least one quantum. */
  counts: [QuantumState, number][];
  tasks: { task: string; counts: [QuantumState, number][] }[];
  failures: number;
  kills: number;
  createdMs: number;
  finishedMs: number;
  unschedulable: UnschedulableTask[];
  /** Ended attempts by node kind, kinds in name order. */
  nodeKinds: ({ kind: string } & KindFigures)[];
}

export interface QuantumListing {
  definition: QuantumDefinition;
  state: QuantumState;
  attempts: AttemptRecord[];
}

const present = (counts: Record<QuantumState, number>): [QuantumState, number][] => (Object.entries(counts) as [QuantumState, number][]).filter(([, n]) => n > 0);

export function statusView(c: LiveCampaign, agents: readonly AgentCapacity[]): CampaignStatusView {
  return {
    campaign: c.name,
    state: c.state,
    priority: c.priority,
    share: c.share,
    counts: present(c.counts),
    tasks: c.tasks.map((task) => ({ task, counts: c.taskCounts.has(task) ? present(c.taskCounts.get(task)!) : [] })),
    failures: c.failures,
    kills: c.kills,
    createdMs: c.createdMs,
    finishedMs: c.finishedMs,
    unschedulable: c.state === "RUNNING" ? unschedulableTasks(c, agents) : [],
    nodeKinds: Object.entries(c.attemptFigures)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, f]) => ({ kind, ...f })),
  };
}

/** Every campaign by submission, or the one named (undefined when there is none). */
export function campaignsOf(table: CampaignTable, name: string | undefined): LiveCampaign[] | undefined {
  if (name === undefined) return [...table.campaigns.values()].sort((a, b) => a.createdMs - b.createdMs);
  const c = table.campaigns.get(name);
  return c ? [c] : undefined;
}

export function specOf(table: CampaignTable, name: string): CampaignSpec | undefined {
  return table.campaigns.get(name)?.spec;
}

/** The quanta of a campaign in a state and/or task, with their definitions and attempts (read from Redis). */
export async function listQuanta(store: QuantaStore, c: LiveCampaign, filter: { state?: string; task?: string }): Promise<QuantumListing[]> {
  // Filtered on the index; only the quanta listed have their definitions read.
  const rows: number[] = [];
  for (let row = 0; row < c.rows.length; row++) {
    if (filter.state && c.rows.state(row) !== filter.state) continue;
    if (filter.task && c.rows.task(row) !== filter.task) continue;
    rows.push(row);
  }
  const ids = rows.map((row) => c.rows.id(row));
  const [definitions, progress] = await Promise.all([resolvedDefinitions(store, c, rows), store.getProgress(c.name, ids)]);
  return definitions.map((definition, i) => ({ definition, state: c.rows.state(rows[i]!), attempts: progress.get(definition.id)?.attempts ?? [] }));
}

/** What reading a campaign's rows may use: no method that changes them. */
export type RowsView = Pick<QuantumRows, "length" | "ranges" | "leased" | "id" | "rowOf" | "task" | "state" | "progress" | "upstream" | "downstream" | "identity" | "memoryMB">;

/** A campaign's in-memory indexes as they stand, typed read-only: for diagnostics and the store's conformance tests. */
export interface CampaignInspection {
  readonly name: string;
  readonly generation: string;
  readonly counts: Readonly<Record<QuantumState, number>>;
  readonly taskCounts: ReadonlyMap<string, Readonly<Record<QuantumState, number>>>;
  readonly ready: Iterable<number>;
  readonly rows: RowsView;
}

export function inspectionOf(c: LiveCampaign): CampaignInspection {
  return { name: c.name, generation: c.generation, counts: c.counts, taskCounts: c.taskCounts, ready: [...c.ready], rows: c.rows };
}

/** How many attempts a quantum has made; undefined for a quantum the table does not have. */
export async function attemptCount(store: QuantaStore, table: CampaignTable, quantum: string): Promise<number | undefined> {
  const ref = table.find(quantum);
  if (!ref) return undefined;
  const run = ref.c.rows.run(ref.row);
  if (run) return run.attempts.length;
  // A finished quantum keeps no run record in memory: its progress in Redis is final.
  const id = ref.c.rows.id(ref.row);
  return (await store.getProgress(ref.c.name, [id])).get(id)?.attempts.length ?? 0;
}
