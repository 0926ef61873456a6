import type { FileWithReplicas } from "../../gen/orrery/v1/dbb_pb.js";
import type { IdentityOutput, IdentityRecord, ProducedReplica, Quantum } from "./model.js";

/** A file as the catalog has it now. */
export interface CatalogContent {
  bytes: number;
  adler32: string;
  md5: string;
  rses: string[];
}

/** The index record of a quantum that just succeeded. */
export function identityRecord(q: Quantum): IdentityRecord {
  const outputs: IdentityOutput[] = [];
  for (const p of q.progress.produced) {
    if (outputs.some((o) => o.did === p.did)) continue;
    const datasetType = q.outputs.find((o) => o.role === p.role)?.datasetType ?? "";
    outputs.push({ role: p.role, did: p.did, datasetType, bytes: p.bytes, adler32: p.adler32, md5: p.md5 });
  }
  return { quantum: q.id, campaign: q.campaign, task: q.task, outputs };
}

/** The catalog queries that tell whether the recorded outputs are still there: dataset types by scope. */
export function reuseQueries(records: Iterable<IdentityRecord>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of records) {
    for (const o of r.outputs) {
      const scope = o.did.slice(0, o.did.indexOf(":"));
      (out.get(scope) ?? out.set(scope, new Set()).get(scope)!).add(o.datasetType);
    }
  }
  return out;
}

/** DBB answers as catalog content by DID; a replica counts if it is AVAILABLE and holds the file's current bytes. */
export function catalogContent(files: readonly FileWithReplicas[]): Map<string, CatalogContent> {
  const out = new Map<string, CatalogContent>();
  for (const { file, replicas } of files) {
    if (!file) continue;
    const rses = replicas.filter((r) => r.state === "AVAILABLE" && (r.md5 === "" || r.md5 === file.md5)).map((r) => r.rse);
    out.set(`${file.scope}:${file.name}`, { bytes: Number(file.bytes), adler32: file.adler32, md5: file.md5, rses });
  }
  return out;
}

/**
 * The quanta to skip, each with the replicas it reuses. A quantum is skipped
 * when the index has its identity, the record covers each of its output roles,
 * and every recorded output is still in the catalog with the same md5 and at
 * least one AVAILABLE replica (a DID re-made with other bytes is not reused).
 */
export function decideReuse(quanta: readonly Quantum[], index: ReadonlyMap<string, IdentityRecord>, catalog: ReadonlyMap<string, CatalogContent>): Map<string, ProducedReplica[]> {
  const out = new Map<string, ProducedReplica[]>();
  for (const q of quanta) {
    const record = index.get(q.identity);
    if (!record) continue;
    if (!q.outputs.every((o) => record.outputs.some((r) => r.role === o.role))) continue;
    const produced: ProducedReplica[] = [];
    let ok = record.outputs.length > 0;
    for (const o of record.outputs) {
      const now = catalog.get(o.did);
      if (!now || now.md5 !== o.md5 || now.bytes !== o.bytes || now.rses.length === 0) {
        ok = false;
        break;
      }
      for (const rse of now.rses) produced.push({ role: o.role, did: o.did, rse, bytes: o.bytes, adler32: o.adler32, md5: o.md5 });
    }
    if (ok) out.set(q.id, produced);
  }
  return out;
}
