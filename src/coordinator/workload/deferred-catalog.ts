// The catalog a deferred task is expanded from: the files its upstream quanta
// actually produced (or reused), as catalog files, and who made each one so
// identities chain through them. Pure.
import type { CatalogFile, CampaignSpec } from "../campaign/index.js";
import type { ProducedReplica, QuantumDefinition } from "./model.js";
import type { Maker } from "./quantum-builder.js";

/** A done quantum of the campaign: what it is, and what it produced. */
export interface DoneQuantum {
  row: number;
  definition: QuantumDefinition;
  produced: readonly ProducedReplica[];
}

export interface ProducedCatalog {
  catalog: Map<string, CatalogFile[]>;
  madeBy: Map<string, Maker>;
}

/** The tasks whose outputs include one of the dataset types. */
export function makerTasks(spec: CampaignSpec, types: readonly string[]): string[] {
  const wanted = new Set(types);
  return spec.tasks.filter((t) => Object.values(t.outputs).some((o) => wanted.has(o.datasetType))).map((t) => t.name);
}

/** Outputs of the given dataset types made by done quanta. */
export function producedCatalog(done: Iterable<DoneQuantum>, types: readonly string[]): ProducedCatalog {
  const out: ProducedCatalog = { catalog: new Map(types.map((t) => [t, []])), madeBy: new Map() };
  addProduced(out, done);
  return out;
}

/** Adds the outputs of more done quanta, of the dataset types `into` was made for. */
export function addProduced(into: ProducedCatalog, done: Iterable<DoneQuantum>): void {
  const { catalog, madeBy } = into;
  for (const { row, definition: q, produced } of done) {
    for (const o of q.outputs) {
      if (!catalog.has(o.datasetType)) continue;
      const made = produced.filter((p) => p.role === o.role);
      const first = made[0];
      if (!first) continue;
      const colon = first.did.indexOf(":");
      catalog.get(o.datasetType)!.push({
        scope: first.did.slice(0, colon),
        name: first.did.slice(colon + 1),
        datasetType: o.datasetType,
        dataId: o.dataId,
        metadata: o.metadata,
        bytes: first.bytes,
        adler32: first.adler32,
        md5: first.md5,
        validFrom: "",
        validTo: "",
        rses: [...new Set(made.map((m) => m.rse))],
      });
      madeBy.set(first.did, { quantum: q.id, row, identity: q.identity });
    }
  }
}
