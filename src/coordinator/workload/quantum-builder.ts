import type { CampaignSpec } from "../campaign/spec.js";
import type { PlannedDataset, PlannedGraph } from "../campaign/graph.js";
import { graphIdentities } from "../campaign/identity.js";
import type { Quantum, QuantumInput } from "./model.js";
import { initialProgress, memoryOf, taskMemory } from "./initial-progress.js";

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
  const memory = taskMemory(spec);
  // A catalog file read under the same role by many quanta (a calibration) is one input object:
  // nothing changes such an input later (fillInputs only touches inputs with a producer).
  const catalogInputs = new Map<string, Map<PlannedDataset, QuantumInput>>();
  const catalogInput = (role: string, d: PlannedDataset): QuantumInput => {
    const byDataset = catalogInputs.get(role) ?? catalogInputs.set(role, new Map()).get(role)!;
    let input = byDataset.get(d);
    if (input === undefined) {
      input = { role, did: d.did, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata };
      withFile(input, d);
      byDataset.set(d, input);
    }
    return input;
  };
  const quanta: Quantum[] = graph.quanta.map((p, i) => {
    // Makers outside this graph have finished already; only those inside it keep a quantum PENDING.
    const outside: string[] = [];
    const inputs = p.inputs.map(({ role, dataset: d }): QuantumInput => {
      const producer = d.producer !== undefined ? ids[d.producer]! : madeBy?.get(d.did)?.quantum;
      if (producer === undefined) return catalogInput(role, d);
      if (d.producer === undefined) outside.push(producer);
      const input: QuantumInput = { role, did: d.did, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata, producer };
      return withFile(input, d);
    });
    const upstream = p.upstream.map((u) => ids[u]!);
    const q: Quantum = {
      id: ids[i]!,
      campaign: spec.name,
      task: p.task,
      dataId: p.dataId,
      identity: identities[i]!,
      inputs,
      outputs: p.outputs.map(({ role, dataset: d }) => ({ role, did: d.did, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata })),
      upstream: outside.length === 0 && upstream.length <= 1 ? upstream : [...new Set([...upstream, ...outside])],
      downstream: [],
      // First state from the makers inside this graph (settleStates looks at those outside).
      progress: initialProgress({ upstream }, memoryOf(memory, p.task)),
    };
    return q;
  });
  const byId = new Map(quanta.map((q) => [q.id, q]));
  for (const q of quanta) for (const u of q.upstream) byId.get(u)?.downstream.push(q.id);
  trimDownstream(quanta);
  return quanta;
}

/**
 * A pushed-to array keeps room for 17 ids (152 bytes) where most quanta have
 * one or two consumers: an exact copy saves about a tenth of the model.
 */
export function trimDownstream(quanta: readonly Quantum[]): void {
  for (const q of quanta) if (q.downstream.length > 0) q.downstream = q.downstream.slice();
}

/** Known bytes, checksums and replicas of a catalog file. */
function withFile(input: QuantumInput, d: PlannedDataset): QuantumInput {
  if (d.file) {
    input.bytes = d.file.bytes;
    input.adler32 = d.file.adler32;
    input.md5 = d.file.md5;
    input.rses = d.file.rses;
  }
  return input;
}
