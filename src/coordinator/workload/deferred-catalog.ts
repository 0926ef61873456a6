// The catalog a deferred task is expanded from: the files its upstream quanta
// actually produced (or reused), as catalog files, and who made each one so
// identities chain through them. Pure.
import type { CatalogFile } from "../campaign/graph.js";
import type { Quantum } from "./model.js";
import { isDone } from "./quantum-links.js";

export interface ProducedCatalog {
  catalog: Map<string, CatalogFile[]>;
  madeBy: Map<string, { quantum: string; identity: string }>;
}

/** Outputs of the given dataset types made by done quanta. */
export function producedCatalog(quanta: Iterable<Quantum>, types: readonly string[]): ProducedCatalog {
  const wanted = new Set(types);
  const catalog = new Map<string, CatalogFile[]>(types.map((t) => [t, []]));
  const madeBy = new Map<string, { quantum: string; identity: string }>();
  for (const q of quanta) {
    if (!isDone(q.progress.state)) continue;
    for (const o of q.outputs) {
      if (!wanted.has(o.datasetType)) continue;
      const made = q.progress.produced.filter((p) => p.role === o.role);
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
      madeBy.set(first.did, { quantum: q.id, identity: q.identity });
    }
  }
  return { catalog, madeBy };
}
