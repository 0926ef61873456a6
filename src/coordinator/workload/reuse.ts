import type { FileWithReplicas } from "../../gen/orrery/v1/dbb_pb.js";
import type { LiveCampaign } from "./campaign-table.js";
import type { IdentityOutput, IdentityRecord, ProducedReplica } from "./model.js";

/** A file as the catalog has it now. */
export interface CatalogContent {
  bytes: number;
  adler32: string;
  md5: string;
  rses: string[];
}

/** A quantum that may be reused: its identity and its task's output roles. */
export interface ReuseCandidate {
  identity: string;
  outputRoles: readonly string[];
}

/** The index record of a quantum that just succeeded, from what it produced. */
export function identityRecord(c: LiveCampaign, row: number): IdentityRecord {
  const task = c.rows.task(row);
  const roles = c.taskByName.get(task)?.outputs ?? {};
  const outputs: IdentityOutput[] = [];
  for (const p of c.rows.run(row)?.produced ?? []) {
    if (outputs.some((o) => o.did === p.did)) continue;
    outputs.push({ role: p.role, did: p.did, datasetType: roles[p.role]?.datasetType ?? "", bytes: p.bytes, adler32: p.adler32, md5: p.md5 });
  }
  return { quantum: c.rows.id(row), campaign: c.name, task, outputs };
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
 * What a quantum reuses, or undefined when it must run. It is skipped when the
 * index has its identity, the record covers each of its output roles, and
 * every recorded output is still in the catalog with the same md5 and at least
 * one AVAILABLE replica (a DID re-made with other bytes is not reused).
 */
export function decideReuse(q: ReuseCandidate, record: IdentityRecord | undefined, catalog: ReadonlyMap<string, CatalogContent>): ProducedReplica[] | undefined {
  if (!record || record.outputs.length === 0) return undefined;
  if (!q.outputRoles.every((role) => record.outputs.some((r) => r.role === role))) return undefined;
  const produced: ProducedReplica[] = [];
  for (const o of record.outputs) {
    const now = catalog.get(o.did);
    if (!now || now.md5 !== o.md5 || now.bytes !== o.bytes || now.rses.length === 0) return undefined;
    for (const rse of now.rses) produced.push({ role: o.role, did: o.did, rse, bytes: o.bytes, adler32: o.adler32, md5: o.md5 });
  }
  return produced;
}
