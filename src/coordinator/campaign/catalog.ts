import type { FileWithReplicas } from "../../gen/orrery/v1/dbb_pb.js";
import type { NatsConnection } from "../../common/nats.js";
import { DbbClient } from "../../common/dbb-client.js";
import { parseDataId } from "../../common/data-id.js";
import type { CatalogFile } from "./graph.js";
import type { CampaignSpec } from "./spec.js";

/** The dataset types a campaign reads from the catalog: inputs no task of it produces. */
export function catalogTypes(spec: CampaignSpec): string[] {
  const produced = new Set(spec.tasks.flatMap((t) => Object.values(t.outputs).map((o) => o.datasetType)));
  return [...new Set(spec.tasks.flatMap((t) => Object.values(t.inputs).map((i) => i.datasetType)))].filter((t) => !produced.has(t));
}

/** A snapshot of the catalog files a campaign may read, by dataset type, with where they are AVAILABLE. */
export async function fetchCatalog(nc: NatsConnection, spec: CampaignSpec, types: readonly string[] = catalogTypes(spec)): Promise<Map<string, CatalogFile[]>> {
  if (types.length === 0) return new Map();
  const files = await new DbbClient(nc, 120_000).files(spec.data.scope, types);
  return catalogFromFiles(files, types);
}

/** Catalog files of the given types by type; files with no AVAILABLE replica are left out. */
export function catalogFromFiles(files: readonly FileWithReplicas[], types: readonly string[]): Map<string, CatalogFile[]> {
  const out = new Map<string, CatalogFile[]>(types.map((t) => [t, []]));
  for (const { file, replicas } of files) {
    if (!file) continue;
    const rses = replicas.filter((r) => r.state === "AVAILABLE").map((r) => r.rse);
    if (rses.length === 0) continue;
    out.get(file.datasetType)?.push({
      scope: file.scope,
      name: file.name,
      datasetType: file.datasetType,
      dataId: parseDataId(file.dataId),
      metadata: file.metadata === "" ? {} : (JSON.parse(file.metadata) as Record<string, unknown>),
      bytes: Number(file.bytes),
      adler32: file.adler32,
      md5: file.md5,
      validFrom: file.validFrom,
      validTo: file.validTo,
      rses,
    });
  }
  return out;
}
