// The datasets a quantum makes: one per output role of its task, named in the
// campaign's output scope and run. Work that is the same for every quantum of
// a task is done once, in the constructor.
import type { DataId } from "../../common/data-id.js";
import type { PlannedDataset, PlannedQuantum } from "./graph-types.js";
import type { CampaignSpec, TaskDefinition } from "./spec.js";

type InputEntry = PlannedQuantum["inputs"][number];

interface OutputRole {
  role: string;
  datasetType: string;
  /** The DID up to the data-id suffix. */
  prefix: string;
  /** Where the planned outputs of this dataset type collect, for later tasks. */
  sink: PlannedDataset[];
}

export class OutputMaker {
  private readonly roles: OutputRole[];
  private qKeys: string[] | undefined;

  /** `noMetadata` is the (frozen) metadata of outputs that carry no obsTime; shared by all of them. */
  constructor(
    spec: CampaignSpec,
    private readonly task: TaskDefinition,
    planned: Map<string, PlannedDataset[]>,
    private readonly noMetadata: Record<string, unknown>,
  ) {
    this.roles = Object.entries(task.outputs).map(([role, o]) => {
      let sink = planned.get(o.datasetType);
      if (!sink) planned.set(o.datasetType, (sink = []));
      return { role, datasetType: o.datasetType, prefix: `${spec.output.scope}:${spec.output.run}/${o.datasetType}/${o.datasetType}_`, sink };
    });
  }

  /**
   * Outputs of quantum `index` (data id `qDataId`) whose first `primaryCount`
   * inputs are its non-calibration ones. Data id and metadata objects are
   * shared with the quantum or its inputs when equal to them: never mutate them.
   */
  make(qDataId: DataId, inputs: readonly InputEntry[], primaryCount: number, index: number): PlannedQuantum["outputs"] {
    const first = primaryCount > 0 ? inputs[0]!.dataset : undefined;
    const dataId = first ? this.outputDataId(qDataId, first.dataId, inputs, primaryCount) : qDataId;
    const metadata = first ? this.outputMetadata(first.metadata, inputs, primaryCount) : this.noMetadata;
    const ext = extensionOf(first?.did ?? "");
    // Joined, not concatenated: a concatenation is a tree of string pieces
    // (~60 bytes more per DID at a million quanta), flattened again by every
    // JSON.stringify; join makes one flat string.
    const parts: string[] = [""];
    const dims = this.task.dimensions;
    for (let i = 0; i < dims.length; i++) parts.push(i === 0 ? "" : "_", String(qDataId[dims[i]!]));
    parts.push(ext);
    const out = this.roles.map((r) => {
      parts[0] = r.prefix;
      return { role: r.role, dataset: { did: parts.join(""), datasetType: r.datasetType, dataId, metadata, producer: index, file: undefined } satisfies PlannedDataset };
    });
    for (let i = 0; i < out.length; i++) this.roles[i]!.sink.push(out[i]!.dataset);
    return out;
  }

  /** The quantum's data id plus every key of the first input on which all non-calibration inputs agree. */
  private outputDataId(qDataId: DataId, fd: DataId, inputs: readonly InputEntry[], primaryCount: number): DataId {
    const qKeys = (this.qKeys ??= Object.keys(qDataId)); // every quantum of a task has the same keys, in the same order
    const fKeys = Object.keys(fd);
    let extras = 0;
    // fd itself is the answer when it holds the quantum's keys first (same values) and every other key is kept.
    let same = fKeys.length >= qKeys.length;
    for (let i = 0; same && i < qKeys.length; i++) same = fKeys[i] === qKeys[i] && fd[qKeys[i]!] === qDataId[qKeys[i]!];
    const keep = fKeys.map((k) => {
      const ok = !(k in qDataId) && agree(inputs, primaryCount, k, fd[k]);
      if (ok) extras++;
      return ok;
    });
    if (extras === 0) return qDataId;
    if (same && extras === fKeys.length - qKeys.length && !fKeys.some(integerLike)) return fd;
    // Built key by key, not by spread: spread copies made here got a hidden class each (V8), ~130 B apiece.
    const dataId: DataId = {};
    for (const k of qKeys) dataId[k] = qDataId[k]!;
    for (let i = 0; i < fKeys.length; i++) if (keep[i]) dataId[fKeys[i]!] = fd[fKeys[i]!]!;
    return dataId;
  }

  /** `{obsTime}` when every non-calibration input has the same one (the first input's own object when that is all it holds), else none. */
  private outputMetadata(fm: Record<string, unknown>, inputs: readonly InputEntry[], primaryCount: number): Record<string, unknown> {
    const obsTime = fm["obsTime"];
    if (obsTime === undefined) return this.noMetadata;
    for (let i = 1; i < primaryCount; i++) if (inputs[i]!.dataset.metadata["obsTime"] !== obsTime) return this.noMetadata;
    return onlyOwnObsTime(fm) ? fm : { obsTime };
  }
}

function agree(inputs: readonly InputEntry[], primaryCount: number, k: string, v: unknown): boolean {
  for (let i = 1; i < primaryCount; i++) if (inputs[i]!.dataset.dataId[k] !== v) return false;
  return true;
}

/** A key a JS object lists before its other keys whatever the insertion order. */
function integerLike(k: string): boolean {
  const c = k.charCodeAt(0);
  return c >= 48 && c <= 57;
}

function onlyOwnObsTime(m: Record<string, unknown>): boolean {
  if (!Object.hasOwn(m, "obsTime")) return false;
  let n = 0;
  for (const k in m) if (k !== "obsTime" || ++n > 1) return false;
  return n === 1;
}

/** What /\.[A-Za-z0-9]+$/ finds at the end of a DID, else ".dat". */
export function extensionOf(did: string): string {
  const dot = did.lastIndexOf(".");
  if (dot < 0 || dot === did.length - 1) return ".dat";
  for (let i = dot + 1; i < did.length; i++) {
    const c = did.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return ".dat";
  }
  return did.slice(dot);
}
