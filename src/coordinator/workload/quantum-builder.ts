import type { CampaignSpec } from "../campaign/spec.js";
import type { PlannedGraph } from "../campaign/graph.js";
import { graphIdentities } from "../campaign/identity.js";
import type { Quantum } from "./model.js";

export interface BuildOptions {
  /** Quanta each task has already (a deferred expansion numbers on from there). */
  existing?: ReadonlyMap<string, number>;
  /** Catalog files made by quanta of this campaign (a deferred task's inputs): their maker. */
  madeBy?: ReadonlyMap<string, { quantum: string; identity: string }>;
}

/** Turns an expanded graph into quanta with ids, identities, links and their first state. */
export function buildQuanta(spec: CampaignSpec, graph: PlannedGraph, opts: BuildOptions = {}): Quantum[] {
  const seq = new Map<string, number>(opts.existing ?? []);
  const ids = graph.quanta.map((p) => {
    const n = (seq.get(p.task) ?? 0) + 1;
    seq.set(p.task, n);
    return `${spec.name}.${p.task}.${n}`;
  });
  const madeBy = opts.madeBy;
  const identities = graphIdentities(spec, graph, madeBy ? (did) => madeBy.get(did)?.identity : undefined);
  const memory = new Map(spec.tasks.map((t) => [t.name, t.resources.memoryMB]));
  const quanta: Quantum[] = graph.quanta.map((p, i) => {
    const inputs = p.inputs.map(({ role, dataset: d }) => {
      const producer = d.producer !== undefined ? ids[d.producer]! : madeBy?.get(d.did)?.quantum;
      return {
        role,
        did: d.did,
        datasetType: d.datasetType,
        dataId: d.dataId,
        metadata: d.metadata,
        ...(producer !== undefined ? { producer } : {}),
        ...(d.file ? { bytes: d.file.bytes, adler32: d.file.adler32, md5: d.file.md5, rses: d.file.rses } : {}),
      };
    });
    // Makers outside this graph have finished already; only those inside it keep a quantum PENDING.
    const outside = p.inputs.flatMap(({ dataset: d }) => (d.producer === undefined ? (madeBy?.get(d.did)?.quantum ?? []) : []));
    return {
      id: ids[i]!,
      campaign: spec.name,
      task: p.task,
      dataId: p.dataId,
      identity: identities[i]!,
      inputs,
      outputs: p.outputs.map(({ role, dataset: d }) => ({ role, did: d.did, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata })),
      upstream: [...new Set([...p.upstream.map((u) => ids[u]!), ...outside])],
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
    };
  });
  const byId = new Map(quanta.map((q) => [q.id, q]));
  for (const q of quanta) for (const u of q.upstream) byId.get(u)?.downstream.push(q.id);
  return quanta;
}
