import type { CampaignSpec } from "../campaign/spec.js";
import type { PlannedGraph } from "../campaign/graph.js";
import type { Quantum } from "./model.js";

/** Turns an expanded graph into quanta with ids, links and their first state. */
export function buildQuanta(spec: CampaignSpec, graph: PlannedGraph): Quantum[] {
  const seq = new Map<string, number>();
  const ids = graph.quanta.map((p) => {
    const n = (seq.get(p.task) ?? 0) + 1;
    seq.set(p.task, n);
    return `${spec.name}.${p.task}.${n}`;
  });
  const memory = new Map(spec.tasks.map((t) => [t.name, t.resources.memoryMB]));
  const quanta: Quantum[] = graph.quanta.map((p, i) => ({
    id: ids[i]!,
    campaign: spec.name,
    task: p.task,
    dataId: p.dataId,
    inputs: p.inputs.map(({ role, dataset: d }) => ({
      role,
      did: d.did,
      datasetType: d.datasetType,
      dataId: d.dataId,
      metadata: d.metadata,
      ...(d.producer !== undefined ? { producer: ids[d.producer]! } : {}),
      ...(d.file ? { bytes: d.file.bytes, adler32: d.file.adler32, md5: d.file.md5, rses: d.file.rses } : {}),
    })),
    outputs: p.outputs.map(({ role, dataset: d }) => ({ role, did: d.did, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata })),
    upstream: p.upstream.map((u) => ids[u]!),
    downstream: [],
    progress: {
      state: p.upstream.length === 0 ? "READY" : "PENDING",
      attempts: [],
      failures: 0,
      kills: 0,
      infraErrors: 0,
      memoryMB: memory.get(p.task) ?? 1024,
      readyAtMs: 0,
      produced: [],
    },
  }));
  const byId = new Map(quanta.map((q) => [q.id, q]));
  for (const q of quanta) for (const u of q.upstream) byId.get(u)?.downstream.push(q.id);
  return quanta;
}
