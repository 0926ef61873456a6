// An expanded graph as rows of its campaign: ids, identities and links in
// compact form, and each quantum's definition made on demand from the planned
// graph (for storing, then the graph is let go). No per-quantum objects are
// kept: at a million quanta those were a gigabyte of heap.
import { graphIdentityBytes, identityHex, type CampaignSpec, type PlannedDataset, type PlannedGraph } from "../campaign/index.js";
import type { QuantumDefinition, QuantumInput } from "./model.js";
import type { BatchInputs, RowBatch, TaskRange } from "./quantum-rows.js";

/** A catalog file made by a quantum of this campaign (a deferred task's input). */
export interface Maker {
  quantum: string;
  row: number;
  identity: string;
}

export interface BuildOptions {
  /** Rows the campaign has already: the new ones are numbered on from there. */
  firstRow?: number;
  /** Catalog files made by quanta of this campaign, by DID. */
  madeBy?: ReadonlyMap<string, Maker>;
}

export interface Expansion extends RowBatch {
  campaign: string;
  /** Id of new row i (0-based in this expansion). */
  id(i: number): string;
  task(i: number): string;
  /** Identity of new row i, as hex. */
  identity(i: number): string;
  /** What new row i is: made from the planned graph on each call. */
  definition(i: number): QuantumDefinition;
}

/** Turns an expanded graph into rows: task ranges, upstream links (campaign rows), identities, definitions. */
export function buildExpansion(spec: CampaignSpec, graph: PlannedGraph, opts: BuildOptions = {}): Expansion {
  const first = opts.firstRow ?? 0;
  const madeBy = opts.madeBy;
  const quanta = graph.quanta;
  const ranges: TaskRange[] = [];
  const seq = new Int32Array(quanta.length);
  for (let i = 0; i < quanta.length; i++) {
    const last = ranges[ranges.length - 1];
    if (last?.task === quanta[i]!.task) last.count++;
    else {
      if (ranges.some((r) => r.task === quanta[i]!.task)) throw new Error(`the plan has task ${quanta[i]!.task}'s quanta in more than one run`);
      ranges.push({ task: quanta[i]!.task, start: first + i, count: 1 });
    }
    seq[i] = first + i - ranges[ranges.length - 1]!.start + 1;
  }
  const identities = graphIdentityBytes(spec, graph, madeBy ? (did) => madeBy.get(did)?.identity : undefined);
  const id = (i: number) => `${spec.name}.${quanta[i]!.task}.${seq[i]!}`;
  const hex = (i: number) => identityHex(identities, i);

  // Upstream rows: makers in this graph, then makers from before (deferred inputs), each once.
  const start = new Int32Array(quanta.length + 1);
  const rows: number[] = [];
  const outsideOf = (i: number): Maker[] => {
    if (!madeBy) return [];
    const out: Maker[] = [];
    for (const { dataset: d } of quanta[i]!.inputs) {
      const m = d.producer === undefined ? madeBy.get(d.did) : undefined;
      if (m && !out.includes(m)) out.push(m);
    }
    return out;
  };
  for (let i = 0; i < quanta.length; i++) {
    for (const u of quanta[i]!.upstream) rows.push(first + u);
    for (const m of outsideOf(i)) rows.push(m.row);
    start[i + 1] = rows.length;
  }
  const inputs = catalogInputs(graph, (did) => madeBy?.has(did) ?? false);

  const definition = (i: number): QuantumDefinition => {
    const p = quanta[i]!;
    const upstream: string[] = p.upstream.map(id);
    for (const m of outsideOf(i)) upstream.push(m.quantum);
    return {
      id: id(i),
      campaign: spec.name,
      task: p.task,
      dataId: p.dataId,
      identity: hex(i),
      inputs: p.inputs.map(({ role, dataset: d }) => {
        const input: QuantumInput = { role, did: d.did, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata };
        const producer = d.producer !== undefined ? id(d.producer) : madeBy?.get(d.did)?.quantum;
        if (producer !== undefined) input.producer = producer;
        return withFile(input, d);
      }),
      outputs: p.outputs.map(({ role, dataset: d }) => ({ role, did: d.did, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata })),
      upstream,
    };
  };
  return {
    campaign: spec.name,
    ranges,
    count: quanta.length,
    upstream: { start, rows: Int32Array.from(rows) },
    identities,
    inputs,
    id,
    task: (i) => quanta[i]!.task,
    identity: hex,
    definition,
  };
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

/** The catalog files each quantum reads (not those quanta of the campaign make), numbered in order of first use. */
function catalogInputs(graph: PlannedGraph, madeHere: (did: string) => boolean): BatchInputs {
  const index = new Map<string, number>();
  const bytes: number[] = [];
  const rses: string[][] = [];
  const start = new Int32Array(graph.quanta.length + 1);
  const rows: number[] = [];
  graph.quanta.forEach((q, i) => {
    for (const { dataset: d } of q.inputs) {
      if (d.producer !== undefined || madeHere(d.did)) continue;
      let k = index.get(d.did);
      if (k === undefined) {
        index.set(d.did, (k = bytes.length));
        bytes.push(d.file?.bytes ?? 0);
        rses.push(d.file?.rses ?? []);
      }
      rows.push(k);
    }
    start[i + 1] = rows.length;
  });
  return { dids: [...index.keys()], bytes: Float64Array.from(bytes), links: { start, rows: Int32Array.from(rows) }, rses };
}
