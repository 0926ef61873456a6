// Quantum-graph expansion: pure, no I/O. The rules are CONTRACT.md's
// "Expansion rules"; planning errors name task, role and data id.
import { compareSorted, formatDataId, type DataId, type DataIdValue } from "../../common/data-id.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { CampaignSpec } from "./spec.js";
import type { WhereValue } from "./spec-schema.js";
import { DataIdIndex } from "./data-id-index.js";
import { deferredClosure } from "./deferred.js";
import { OutputMaker } from "./outputs.js";
import type { CatalogFile, PlannedDataset, PlannedGraph, PlannedQuantum } from "./graph-types.js";

export type { CatalogFile, PlannedDataset, PlannedGraph, PlannedQuantum } from "./graph-types.js";

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

/** One input of a quantum. The same object stands for a dataset in every quantum that reads it in that role: callers must not mutate it. */
type InputEntry = PlannedQuantum["inputs"][number];

/** A task's input role, with its datasets indexed once for the whole task. */
interface Role {
  role: string;
  datasetType: string;
  multiple: boolean;
  calibration: boolean;
  index: DataIdIndex;
}

export function expandGraph(spec: CampaignSpec, catalog: ReadonlyMap<string, readonly CatalogFile[]>): PlannedGraph {
  const quanta: PlannedQuantum[] = [];
  const planned = new Map<string, PlannedDataset[]>(); // dataset type → outputs of earlier tasks
  const fromCatalog = new Map<string, PlannedDataset[]>(); // dataset type → its catalog files that pass data.where
  const tasks: PlannedGraph["tasks"] = {};
  const errors: string[] = [];
  const inputFiles = new Map<string, CatalogFile>();
  const validity = new Map<PlannedDataset, { from: number; to: number }>(); // calibrations' ranges, parsed once
  const noMetadata: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
  // Tasks over the same dimensions (isr, calibrate, … per raw) share each quantum data id object.
  const idsByDimensions = new Map<string, Map<string, DataId>>();
  // Inputs collect here, then are copied out at their exact size: a pushed-to
  // [] keeps room for 17, which at a million quanta is a lot of heap.
  const scratch: InputEntry[] = [];
  let edges = 0;

  const candidatesFor = (datasetType: string): PlannedDataset[] => {
    const made = planned.get(datasetType);
    if (made) return made;
    let found = fromCatalog.get(datasetType);
    if (!found) {
      found = (catalog.get(datasetType) ?? [])
        .filter((f) => whereMatches(f.dataId, spec.data.where))
        // One flat string (join), not a concatenation's tree of pieces.
        .map((f) => ({ did: [f.scope, f.name].join(":"), datasetType, dataId: f.dataId, metadata: f.metadata, producer: undefined, file: f }));
      fromCatalog.set(datasetType, found);
    }
    return found;
  };
  const rangeOf = (d: PlannedDataset): { from: number; to: number } => {
    let r = validity.get(d);
    if (!r) {
      r = { from: d.file?.validFrom ? Date.parse(d.file.validFrom) : -Infinity, to: d.file?.validTo ? Date.parse(d.file.validTo) : Infinity };
      validity.set(d, r);
    }
    return r;
  };

  // Deferred tasks and their downstream wait for what their upstream produces.
  const later = deferredClosure(spec);
  for (const task of spec.tasks) {
    if (later.has(task.name)) {
      tasks[task.name] = { quanta: 0, dropped: 0 };
      continue;
    }
    const dims = task.dimensions;
    const roles: Role[] = Object.entries(task.inputs).map(([role, r]) => ({
      role,
      datasetType: r.datasetType,
      multiple: r.multiple === true,
      calibration: r.calibration === true,
      index: new DataIdIndex(dims, role, candidatesFor(r.datasetType), r.calibration !== true),
    }));
    const primary = roles.filter((r) => !r.calibration);
    const calibrations = roles.filter((r) => r.calibration);
    const out = new OutputMaker(spec, task, planned, noMetadata);

    // Quantum data ids, keyed as the indexes key a full-dimension dataset.
    // In order of first appearance, role by role (each index has them deduplicated already).
    const dimsKey = dims.join("\u0000");
    const known = idsByDimensions.get(dimsKey) ?? idsByDimensions.set(dimsKey, new Map()).get(dimsKey)!;
    const qKeys: string[] = [];
    const qIds: DataId[] = [];
    const seen = primary.length > 1 ? new Set<string>() : undefined;
    for (const r of primary) {
      const { fullKeys, fullFirst } = r.index;
      for (let i = 0; i < fullKeys.length; i++) {
        const key = fullKeys[i]!;
        if (seen) {
          if (seen.has(key)) continue;
          seen.add(key);
        }
        let id = known.get(key);
        if (!id) known.set(key, (id = pick(fullFirst[i]!, dims)));
        qKeys.push(key);
        qIds.push(id);
      }
    }
    // Data-id order, not catalog order: quantum numbering and each quantum's
    // "first non-calibration input" (whose obsTime picks calibrations) are stable.
    // Every quantum data id has exactly the keys `dims`, so compareDataIds walks the same sorted keys each time.
    const order = [...new Set(dims)].sort();
    const ordered = qIds.map((_, i) => i).sort((a, b) => compareSorted(qIds[a]!, order, qIds[b]!, order));

    let count = 0;
    let dropped = 0;
    for (const q of ordered) {
      const qKey = qKeys[q]!;
      const qDataId = qIds[q]!;
      scratch.length = 0;
      let drop = false;
      for (const r of primary) {
        const found = r.index.matching(qDataId, qKey);
        if (found.length === 0) drop = true;
        else if (found.length > 1 && !r.multiple) {
          errors.push(`task ${task.name}, role ${r.role}, data id ${formatDataId(qDataId)}: ${found.length} ${r.datasetType} datasets match where one is expected (mark the role multiple: true, or narrow data.where)`);
          drop = true;
        } else for (let i = 0; i < found.length; i++) scratch.push(found[i]!);
      }
      if (drop) {
        dropped++;
        continue;
      }
      const primaryCount = scratch.length;
      if (calibrations.length > 0) {
        const obsTime = scratch[0]?.dataset.metadata["obsTime"];
        const t = typeof obsTime === "string" ? Date.parse(obsTime) : NaN; // no string: nothing is valid
        for (const r of calibrations) {
          let valid = 0;
          let match: InputEntry | undefined;
          if (typeof obsTime === "string") {
            for (const e of r.index.matching(qDataId, qKey)) {
              const { from, to } = rangeOf(e.dataset);
              if (from <= t && t < to) {
                valid++;
                match ??= e;
              }
            }
          }
          if (valid !== 1) {
            errors.push(`task ${task.name}, role ${r.role}, data id ${formatDataId(qDataId)}: ${valid === 0 ? "no" : String(valid)} ${r.datasetType} calibration${valid === 0 ? "" : "s"} valid at ${String(obsTime ?? "(no obsTime)")}${valid === 0 ? "; ingest one whose validFrom ≤ obsTime < validTo" : "; validity ranges overlap"}`);
            continue;
          }
          scratch.push(match!);
        }
      }
      const inputs = scratch.slice();
      const index = quanta.length;
      const upstream = producersOf(inputs);
      edges += upstream.length;
      for (const i of inputs) if (i.dataset.file) inputFiles.set(i.dataset.did, i.dataset.file);
      quanta.push({ task: task.name, dataId: qDataId, inputs, outputs: out.make(qDataId, inputs, primaryCount, index), upstream });
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

/** The distinct producers of a quantum's inputs, in input order (an array of exactly that size). */
function producersOf(inputs: readonly InputEntry[]): number[] {
  let none = true;
  for (let i = 0; none && i < inputs.length; i++) none = inputs[i]!.dataset.producer === undefined;
  if (none) return [];
  const out: number[] = [];
  if (inputs.length > 16) {
    const seen = new Set<number>();
    for (const i of inputs) {
      const p = i.dataset.producer;
      if (p !== undefined && !seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  } else {
    for (const i of inputs) {
      const p = i.dataset.producer;
      if (p !== undefined && !out.includes(p)) out.push(p);
    }
  }
  return out.slice();
}

function pick(dataId: DataId, keys: readonly string[]): DataId {
  const out: DataId = {};
  for (const k of keys) out[k] = dataId[k] as DataIdValue;
  return out;
}
