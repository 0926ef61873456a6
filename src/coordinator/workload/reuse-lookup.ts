// The I/O side of reuse: the identity index in Redis, then one catalog query
// per output scope to see whether the recorded outputs are still AVAILABLE.
import type { FileWithReplicas } from "../../gen/orrery/v1/dbb_pb.js";
import type { CoordinatorStore } from "../store/redis-store.js";
import type { ProducedReplica, Quantum } from "./model.js";
import { catalogContent, decideReuse, reuseQueries } from "./reuse.js";

/** The catalog as the manager sees it: files of a scope and dataset types, with their replicas. */
export interface CatalogSource {
  files(scope: string, datasetTypes: readonly string[]): Promise<FileWithReplicas[]>;
}

/** The quanta that can be SKIPPED, each with the replicas it reuses. */
export async function findReusable(store: CoordinatorStore, catalog: CatalogSource, quanta: readonly Quantum[]): Promise<Map<string, ProducedReplica[]>> {
  if (quanta.length === 0) return new Map();
  const index = await store.getIdentities(quanta.map((q) => q.identity));
  if (index.size === 0) return new Map();
  const files: FileWithReplicas[] = [];
  for (const [scope, types] of reuseQueries(index.values())) files.push(...(await catalog.files(scope, [...types])));
  return decideReuse(quanta, index, catalogContent(files));
}
