// Quantum definitions as the coordinator hands them out (leases, listings):
// read from Redis, with inputs made by done quanta pointed at the files those
// quanta produced, read from their stored progress.
import type { QuantaStore } from "./quanta-store.js";
import type { LiveCampaign } from "./campaign-table.js";
import type { ProducedReplica, QuantumDefinition } from "./model.js";
import { doneMakers, resolveInputs } from "./quantum-links.js";

/**
 * Definitions of some rows of a campaign, their inputs made by done quanta
 * pointed at what those produced. The makers come from the rows' links, so
 * both reads go to Redis at once.
 */
export async function resolvedDefinitions(store: QuantaStore, c: LiveCampaign, rows: readonly number[]): Promise<QuantumDefinition[]> {
  const produced = new Map<string, readonly ProducedReplica[]>();
  const stored = new Set<string>();
  for (const row of rows) {
    for (const m of doneMakers(c.rows, row)) {
      // A maker whose success is not stored yet still has its run in memory, newer than Redis's copy
      // (its downstream may be leased before the progress flush): only makers without one are read.
      const run = c.rows.run(c.rows.rowOf(m)!);
      if (run !== undefined) produced.set(m, run.produced);
      else stored.add(m);
    }
  }
  const [definitions, progress] = await Promise.all([store.getDefinitions(c, rows.map((row) => c.rows.id(row))), store.getProgress(c.name, [...stored])]);
  for (const [id, p] of progress) produced.set(id, p.produced);
  return definitions.map((d) => ({ ...d, inputs: resolveInputs(c, d.inputs, produced) }));
}
