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

