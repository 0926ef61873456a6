// Fast forms of the data-id helpers that expansion and identity hashing call
// millions of times at campaign scale. Each gives exactly the result of its
// counterpart in common/data-id.ts (the tests beside this file check that).
import { dataIdKey, type DataId } from "../../common/data-id.js";

/**
 * A key for the values of `keys` (a fixed order) in a data id: equal keys for
 * the data ids dataIdKey(pick(dataId, keys)) calls equal. Components are
 * tagged by type (1 and "1" differ) and joined by \u0000, which no component
 * holds: a string holding one is written as JSON, which escapes it.
 */
export function valuesKey(dataId: DataId, keys: readonly string[]): string {
  let out = "";
  for (let i = 0; i < keys.length; i++) {
    const v: unknown = dataId[keys[i]!];
    let part: string;
    if (typeof v === "string") part = v.includes("\u0000") ? `j${JSON.stringify(v)}` : `s${v}`;
    // JSON writes NaN and ±Infinity as null, as it does null itself.
    else if (typeof v === "number") part = Number.isFinite(v) ? `n${String(v)}` : "jnull";
    else if (v === undefined) part = "u"; // dataIdKey drops the key
    else part = `j${JSON.stringify(v)}`;
    out = i === 0 ? part : `${out}\u0000${part}`;
  }
  return out;
}

/** dataIdKey(dataId), without building an intermediate object. */
export function canonicalDataIdJson(dataId: DataId): string {
  const keys = Object.keys(dataId).sort();
  let out = "{";
  for (const k of keys) {
    // An integer-like key comes first in a JS object whatever the insertion order: leave those to dataIdKey.
    const c = k.charCodeAt(0);
    if (c >= 48 && c <= 57) return dataIdKey(dataId);
    const v = dataId[k];
    if (v === undefined) continue;
    out += `${out.length === 1 ? "" : ","}${JSON.stringify(k)}:${JSON.stringify(v)}`;
  }
  return `${out}}`;
}

/**
 * compareDataIds(a, b) given each id's keys sorted (`Object.keys(x).sort()`):
 * walking the two sorted lists together visits the sorted union of the keys
 * without building it.
 */
export function compareSorted(a: DataId, ak: readonly string[], b: DataId, bk: readonly string[]): number {
  let i = 0;
  let j = 0;
  while (i < ak.length || j < bk.length) {
    let k: string;
    const x0 = ak[i];
    const y0 = bk[j];
    if (x0 === undefined) k = bk[j++]!;
    else if (y0 === undefined) k = ak[i++]!;
    else if (x0 === y0) {
      k = x0;
      i++;
      j++;
    } else if (x0 < y0) k = ak[i++]!;
    else k = bk[j++]!;
    const x = a[k];
    const y = b[k];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return 0;
}

/** Sorted own keys of a data id, for compareSorted. */
export function sortedKeys(dataId: DataId): string[] {
  return Object.keys(dataId).sort();
}
