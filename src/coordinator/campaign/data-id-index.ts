// Datasets of one input role, indexed once per task for the per-quantum lookups
// of expansion. Keys are valuesKey strings (see data-id-keys.ts), not JSON.
import { compareSorted, sortedKeys, type DataId } from "../../common/data-id.js";
import { valuesKey } from "./data-id-keys.js";
import type { PlannedDataset, PlannedQuantum } from "./graph-types.js";

type InputEntry = PlannedQuantum["inputs"][number];

const NONE: readonly InputEntry[] = Object.freeze([]);

interface Group {
  /** The task dimensions these datasets carry, in the task's order. */
  keys: string[];
  /** True when that is every dimension: the group's keys are then quantum keys. */
  full: boolean;
  map: Map<string, InputEntry[]>;
}

/** Datasets of one role, found by their agreement with a quantum's data id on the keys both carry. */
export class DataIdIndex {
  /** The distinct valuesKeys over the task dimensions among datasets that carry them all, in order of first appearance in `all`… */
  readonly fullKeys: string[] = [];
  /** …and the data id of that first dataset of each. */
  readonly fullFirst: DataId[] = [];
  private readonly groups: Group[] = [];

  /**
   * `sorted`: matching returns datasets in data-id order (then DID), as a
   * non-calibration role needs. One entry object per dataset stands for it in
   * every quantum that reads it.
   */
  constructor(
    dimensions: readonly string[],
    role: string,
    readonly all: readonly PlannedDataset[],
    private readonly sorted: boolean,
  ) {
    const bySignature = new Map<string, Group>();
    for (const d of all) {
      let sig = "";
      let n = 0;
      for (const k of dimensions) {
        if (k in d.dataId) {
          sig += `${k}\u0000`;
          n++;
        }
      }
      let group = bySignature.get(sig);
      if (!group) {
        group = { keys: dimensions.filter((k) => k in d.dataId), full: n === dimensions.length, map: new Map() };
        bySignature.set(sig, group);
        this.groups.push(group);
      }
      const key = valuesKey(d.dataId, group.keys);
      const entry: InputEntry = { role, dataset: d };
      const bucket = group.map.get(key);
      if (bucket) bucket.push(entry);
      else {
        group.map.set(key, [entry]);
        if (group.full) {
          this.fullKeys.push(key);
          this.fullFirst.push(d.dataId);
        }
      }
    }
    // One signature (the usual case): each bucket is sorted once here and handed out as it is.
    if (sorted && this.groups.length === 1) for (const bucket of this.groups[0]!.map.values()) if (bucket.length > 1) sortEntries(bucket);
  }

  /**
   * The datasets that agree with quantum data id `q` (whose valuesKey over the
   * task dimensions is `qKey`). The array may be the index's own: read it, never change it.
   */
  matching(q: DataId, qKey: string): readonly InputEntry[] {
    if (this.groups.length === 1) {
      const g = this.groups[0]!;
      return g.map.get(g.full ? qKey : valuesKey(q, g.keys)) ?? NONE;
    }
    const out: InputEntry[] = [];
    for (const g of this.groups) {
      const found = g.map.get(g.full ? qKey : valuesKey(q, g.keys));
      if (found) for (const e of found) out.push(e);
    }
    if (this.sorted && out.length > 1) sortEntries(out);
    return out;
  }
}

/** Sorts in place by data id, then DID (compareDataIds' order, with each id's sorted keys worked out once). */
function sortEntries(entries: InputEntry[]): void {
  const decorated = entries.map((e) => ({ e, k: sortedKeys(e.dataset.dataId) }));
  decorated.sort((a, b) => {
    const c = compareSorted(a.e.dataset.dataId, a.k, b.e.dataset.dataId, b.k);
    if (c) return c;
    const x = a.e.dataset.did;
    const y = b.e.dataset.did;
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (let i = 0; i < entries.length; i++) entries[i] = decorated[i]!.e;
}
