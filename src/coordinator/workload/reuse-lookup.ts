// The I/O side of reuse: the identity index in Redis, then one catalog query
// per output scope to see whether the recorded outputs are still AVAILABLE.
import type { FileWithReplicas } from "../../gen/orrery/v1/dbb_pb.js";
import type { QuantaStore } from "./quanta-store.js";
import type { CampaignSpec } from "../campaign/index.js";
import type { IdentityRecord, ProducedReplica } from "./model.js";
import type { Expansion } from "./quantum-builder.js";
import { catalogContent, decideReuse, reuseQueries, type ReuseCandidate } from "./reuse.js";

/** The catalog as the manager sees it: files of a scope and dataset types, with their replicas. */
export interface CatalogSource {
  files(scope: string, datasetTypes: readonly string[]): Promise<FileWithReplicas[]>;
  /** Storage elements and their sites (for locality); absent: locality knows no sites. */
  rseList?(): Promise<{ name: string; site: string }[]>;
  /** A quantum's accepted outputs: other replicas of them it produced are made obsolete (output-settler.ts); absent: not done. */
  settleOutputs?(producedBy: string, keep: readonly { did: string; rse: string }[]): Promise<readonly { did: string; rse: string }[]>;
}

/** Identities looked up per Redis round. */
const BATCH = 5000;

/** The quanta of an expansion that can be SKIPPED (by index in it), each with the replicas it reuses; none unless the spec asks for reuse. */
export async function findReusable(store: QuantaStore, catalog: CatalogSource, spec: CampaignSpec, expansion: Pick<Expansion, "count" | "identity" | "task">): Promise<Map<number, ProducedReplica[]>> {
  if (!spec.reuse) return new Map();
  const outputRoles = new Map(spec.tasks.map((t) => [t.name, Object.keys(t.outputs)]));
  const candidate = (i: number): ReuseCandidate => ({ identity: expansion.identity(i), outputRoles: outputRoles.get(expansion.task(i)) ?? [] });
  const count = expansion.count;
  const found = new Map<number, IdentityRecord>();
  for (let i = 0; i < count; i += BATCH) {
    const end = Math.min(count, i + BATCH);
    const hashes: string[] = [];
    for (let j = i; j < end; j++) hashes.push(candidate(j).identity);
    const records = await store.getIdentities(hashes);
    for (let j = i; j < end; j++) {
      const r = records.get(hashes[j - i]!);
      if (r) found.set(j, r);
    }
  }
  const out = new Map<number, ProducedReplica[]>();
  if (found.size === 0) return out;
  const files: FileWithReplicas[] = [];
  for (const [scope, types] of reuseQueries(found.values())) files.push(...(await catalog.files(scope, [...types])));
  const content = catalogContent(files);
  for (const [i, record] of found) {
    const produced = decideReuse(candidate(i), record, content);
    if (produced) out.set(i, produced);
  }
  return out;
}
