// Quantum-graph expansion: pure, no I/O. The rules are CONTRACT.md's
// "Expansion rules"; planning errors name task, role and data id.
import { compareDataIds, dataIdKey, formatDataId, type DataId, type DataIdValue } from "../../common/data-id.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { CampaignSpec, TaskDefinition } from "./spec.js";
import type { WhereValue } from "./spec-schema.js";
import { deferredClosure } from "./deferred.js";

/** A file the catalog already holds. */
export interface CatalogFile {
  scope: string;
  name: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
  bytes: number;
  adler32: string;
  md5: string;
  validFrom: string;
  validTo: string;
  rses: string[];
}

/** A dataset a quantum reads or writes: an existing file, or the output of another quantum. */
export interface PlannedDataset {
  did: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
  /** Index of the quantum that makes it; undefined for a catalog file. */
  producer: number | undefined;
  file: CatalogFile | undefined;
}

export interface PlannedQuantum {
  task: string;
  dataId: DataId;
  inputs: { role: string; dataset: PlannedDataset }[];
  outputs: { role: string; dataset: PlannedDataset }[];
  upstream: number[];
}

export interface PlannedGraph {
  quanta: PlannedQuantum[];
  edges: number;
  tasks: Record<string, { quanta: number; dropped: number }>;
  inputs: { datasets: number; bytes: number };
}

export function whereMatches(dataId: DataId, where: Record<string, WhereValue>): boolean {
  for (const [key, cond] of Object.entries(where)) {
    const v = dataId[key];
    if (v === undefined) continue; // a key the dataset does not carry does not exclude it
    if (typeof cond === "object") {
      if ("in" in cond) {
        if (!cond.in.some((c) => c === v)) return false;
      } else if (typeof v !== "number" || v < cond.range[0] || v > cond.range[1]) return false;
    } else if (cond !== v) return false;
  }
  return true;
}

const MAX_ERRORS = 20;

export function expandGraph(spec: CampaignSpec, catalog: ReadonlyMap<string, readonly CatalogFile[]>): PlannedGraph {
  const quanta: PlannedQuantum[] = [];
  const planned = new Map<string, PlannedDataset[]>(); // dataset type → outputs of earlier tasks
  const tasks: PlannedGraph["tasks"] = {};
  const errors: string[] = [];
  const inputFiles = new Map<string, CatalogFile>();
  let edges = 0;

  const candidatesFor = (datasetType: string): PlannedDataset[] => {
    const made = planned.get(datasetType);
    if (made) return made;
    return (catalog.get(datasetType) ?? [])
      .filter((f) => whereMatches(f.dataId, spec.data.where))
      .map((f) => ({ did: `${f.scope}:${f.name}`, datasetType, dataId: f.dataId, metadata: f.metadata, producer: undefined, file: f }));
  };

  // Deferred tasks and their downstream wait for what their upstream produces.
  const later = deferredClosure(spec);
  for (const task of spec.tasks) {
    if (later.has(task.name)) {
      tasks[task.name] = { quanta: 0, dropped: 0 };
      continue;
    }
    const roles = Object.entries(task.inputs).map(([role, r]) => ({ role, ...r, index: new DataIdIndex(task.dimensions, candidatesFor(r.datasetType)) }));
    const primary = roles.filter((r) => !r.calibration);
    const quantumIds = new Map<string, DataId>();
    for (const r of primary) {
      for (const d of r.index.all) {
        if (!task.dimensions.every((k) => k in d.dataId)) continue;
        const q = pick(d.dataId, task.dimensions);
        quantumIds.set(dataIdKey(q), q);
      }
    }
    let count = 0;
    let dropped = 0;
    // Data-id order, not catalog order: quantum numbering and each quantum's
    // "first non-calibration input" (whose obsTime picks calibrations) are stable.
    for (const qDataId of [...quantumIds.values()].sort(compareDataIds)) {
      const inputs: PlannedQuantum["inputs"] = [];
      let drop = false;
      for (const r of primary) {
        const found = r.index.matching(qDataId).sort(byDataId);
        if (found.length === 0) drop = true;
        else if (found.length > 1 && !r.multiple) {
          errors.push(`task ${task.name}, role ${r.role}, data id ${formatDataId(qDataId)}: ${found.length} ${r.datasetType} datasets match where one is expected (mark the role multiple: true, or narrow data.where)`);
          drop = true;
        } else for (const d of found) inputs.push({ role: r.role, dataset: d });
      }
      if (drop) {
        dropped++;
        continue;
      }
      const obsTime = inputs[0]?.dataset.metadata["obsTime"];
      for (const r of roles.filter((x) => x.calibration)) {
        const found = r.index.matching(qDataId).filter((d) => validAt(d, obsTime));
        if (found.length !== 1) {
          errors.push(`task ${task.name}, role ${r.role}, data id ${formatDataId(qDataId)}: ${found.length === 0 ? "no" : String(found.length)} ${r.datasetType} calibration${found.length === 0 ? "" : "s"} valid at ${String(obsTime ?? "(no obsTime)")}${found.length === 0 ? "; ingest one whose validFrom ≤ obsTime < validTo" : "; validity ranges overlap"}`);
          continue;
        }
        inputs.push({ role: r.role, dataset: found[0]! });
      }
      const index = quanta.length;
      const upstream = [...new Set(inputs.map((i) => i.dataset.producer).filter((p): p is number => p !== undefined))];
      edges += upstream.length;
      for (const i of inputs) if (i.dataset.file) inputFiles.set(i.dataset.did, i.dataset.file);
      const outputs = makeOutputs(spec, task, qDataId, inputs, index);
      for (const o of outputs) (planned.get(o.dataset.datasetType) ?? planned.set(o.dataset.datasetType, []).get(o.dataset.datasetType)!).push(o.dataset);
      quanta.push({ task: task.name, dataId: qDataId, inputs, outputs, upstream });
      count++;
      if (errors.length >= MAX_ERRORS) break;
    }
    for (const o of Object.values(task.outputs)) if (!planned.has(o.datasetType)) planned.set(o.datasetType, []);
    tasks[task.name] = { quanta: count, dropped };
    if (errors.length >= MAX_ERRORS) break;
  }
  if (errors.length > 0) {
    throw new OrreryError(ErrorCode.PLAN_ERROR, `planning failed:\n${errors.slice(0, MAX_ERRORS).join("\n")}`, {
      hint: "fix the catalog or the campaign's data query; nothing was stored",
    });
  }
  let bytes = 0;
  for (const f of inputFiles.values()) bytes += f.bytes;
  return { quanta, edges, tasks, inputs: { datasets: inputFiles.size, bytes } };
}

function makeOutputs(spec: CampaignSpec, task: TaskDefinition, qDataId: DataId, inputs: PlannedQuantum["inputs"], index: number): PlannedQuantum["outputs"] {
  const primary = inputs.filter((i) => !task.inputs[i.role]?.calibration).map((i) => i.dataset);
  const dataId: DataId = { ...qDataId };
  const first = primary[0];
  if (first) {
    for (const [k, v] of Object.entries(first.dataId)) if (!(k in dataId) && primary.every((d) => d.dataId[k] === v)) dataId[k] = v;
  }
  const metadata: Record<string, unknown> = first?.metadata["obsTime"] !== undefined && primary.every((d) => d.metadata["obsTime"] === first.metadata["obsTime"]) ? { obsTime: first.metadata["obsTime"] } : {};
  const ext = /\.[A-Za-z0-9]+$/.exec(first?.did ?? "")?.[0] ?? ".dat";
  const suffix = task.dimensions.map((k) => String(qDataId[k])).join("_");
  return Object.entries(task.outputs).map(([role, o]) => ({
    role,
    dataset: {
      did: `${spec.output.scope}:${spec.output.run}/${o.datasetType}/${o.datasetType}_${suffix}${ext}`,
      datasetType: o.datasetType,
      dataId,
      metadata,
      producer: index,
      file: undefined,
    },
  }));
}

function byDataId(a: PlannedDataset, b: PlannedDataset): number {
  return compareDataIds(a.dataId, b.dataId) || (a.did < b.did ? -1 : a.did > b.did ? 1 : 0);
}

function validAt(d: PlannedDataset, obsTime: unknown): boolean {
  if (typeof obsTime !== "string") return false;
  const t = Date.parse(obsTime);
  const from = d.file?.validFrom ? Date.parse(d.file.validFrom) : -Infinity;
  const to = d.file?.validTo ? Date.parse(d.file.validTo) : Infinity;
  return from <= t && t < to;
}

function pick(dataId: DataId, keys: readonly string[]): DataId {
  const out: DataId = {};
  for (const k of keys) out[k] = dataId[k] as DataIdValue;
  return out;
}

/** Datasets of one role, found by their agreement with a quantum's data id on the keys both carry. */
class DataIdIndex {
  private readonly bySignature = new Map<string, { keys: string[]; map: Map<string, PlannedDataset[]> }>();

  constructor(
    dimensions: readonly string[],
    readonly all: readonly PlannedDataset[],
  ) {
    for (const d of all) {
      const keys = dimensions.filter((k) => k in d.dataId);
      const sig = keys.join("\u0000");
      const group = this.bySignature.get(sig) ?? this.bySignature.set(sig, { keys, map: new Map() }).get(sig)!;
      const key = dataIdKey(pick(d.dataId, keys));
      (group.map.get(key) ?? group.map.set(key, []).get(key)!).push(d);
    }
  }

  matching(q: DataId): PlannedDataset[] {
    const out: PlannedDataset[] = [];
    for (const { keys, map } of this.bySignature.values()) out.push(...(map.get(dataIdKey(pick(q, keys))) ?? []));
    return out;
  }
}
