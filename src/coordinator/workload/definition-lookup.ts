// Quantum definitions as the coordinator hands them out (leases, listings):
// read from Redis, with inputs made by done quanta pointed at the files those
// quanta produced, read from their stored progress.
import type { CoordinatorStore } from "../store/redis-store.js";
import type { LiveCampaign } from "./campaign-table.js";
import type { QuantumDefinition } from "./model.js";
import { doneMakers, resolveInputs } from "./quantum-links.js";

/**
 * Definitions of some quanta of a campaign, their inputs made by done quanta
 * pointed at what those produced (read from the makers' stored progress).
 */
export async function resolvedDefinitions(store: CoordinatorStore, c: LiveCampaign, ids: readonly string[]): Promise<QuantumDefinition[]> {
  const definitions = await store.getDefinitions(c, ids);
  const makers = new Set<string>();
  for (const d of definitions) for (const m of doneMakers(c, d.inputs)) makers.add(m);
  const progress = await store.getProgress(c.name, [...makers]);
  const produced = new Map([...progress].map(([id, p]) => [id, p.produced]));
  return definitions.map((d) => ({ ...d, inputs: resolveInputs(c, d.inputs, produced) }));
}

