// How quanta depend on each other's results: readiness from upstream rows, and
// the inputs a lease carries, pointed at what their makers actually produced.
import type { LiveCampaign } from "./campaign-table.js";
import type { ProducedReplica, QuantumInput } from "./model.js";
import type { QuantumRows } from "./quantum-rows.js";
import { isDone } from "./quantum-state.js";

/** Every maker of the row is done. */
export function makersDone(rows: QuantumRows, row: number): boolean {
  for (const u of rows.upstream(row)) if (!isDone(rows.state(u))) return false;
  return true;
}

/**
 * First states of freshly appended rows (PENDING) from..to-1 once some are reused:
 * SKIPPED with the replicas they reuse, else READY when every maker (in this
 * expansion or before it) is done, else PENDING. Rows come in graph order,
 * makers first.
 */
export function settleRows(rows: QuantumRows, from: number, to: number, reused: ReadonlyMap<number, ProducedReplica[]>): void {
  for (const [row, produced] of reused) {
    rows.apply(row, "skip");
    rows.runOf(row).produced = produced;
  }
  for (let row = from; row < to; row++) {
    if (!reused.has(row) && makersDone(rows, row)) rows.apply(row, "inputs_ready");
  }
}

/** Ids of the row's makers that are done: those whose produced replicas its inputs are pointed at. */
export function doneMakers(rows: QuantumRows, row: number): string[] {
  const out: string[] = [];
  for (const u of rows.upstream(row)) if (isDone(rows.state(u))) out.push(rows.id(u));
  return out;
}

/**
 * The inputs of a quantum as its lease carries them: an input made by a
 * quantum of the campaign that is done points at the files that quantum
 * produced (its definition only has the plan), with their checksums and RSEs.
 * `produced` has the replicas of those makers (doneMakers), by quantum id.
 */
export function resolveInputs(c: LiveCampaign, inputs: readonly QuantumInput[], produced: ReadonlyMap<string, readonly ProducedReplica[]>): QuantumInput[] {
  return inputs.map((input) => {
    if (input.producer === undefined) return input;
    const row = c.rows.rowOf(input.producer);
    if (row === undefined || !isDone(c.rows.state(row))) return input;
    // A dataset type has one maker task and one output role in it.
    const outputs = c.taskByName.get(c.rows.task(row))?.outputs ?? {};
    const role = Object.entries(outputs).find(([, o]) => o.datasetType === input.datasetType)?.[0];
    const made = (produced.get(input.producer) ?? []).filter((p) => p.role === role);
    const first = made[0];
    if (!first) return input;
    return { ...input, did: first.did, bytes: first.bytes, adler32: first.adler32, md5: first.md5, rses: [...new Set(made.map((m) => m.rse))] };
  });
}
