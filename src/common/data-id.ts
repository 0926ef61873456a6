/** A data id: key → value, e.g. {instrument: "HSC", exposure: 903334, detector: 16}. */
export type DataIdValue = string | number;
export type DataId = Record<string, DataIdValue>;

/** Canonical JSON (sorted keys), so equal data ids have equal strings. */
export function dataIdKey(dataId: DataId): string {
  const keys = Object.keys(dataId).sort();
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, dataId[k]])));
}

export function parseDataId(json: string): DataId {
  if (json === "") return {};
  const value: unknown = JSON.parse(json);
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  const out: DataId = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string" || typeof v === "number") out[k] = v;
  return out;
}

export function formatDataId(dataId: DataId): string {
  return Object.keys(dataId)
    .sort()
    .map((k) => `${k}=${String(dataId[k])}`)
    .join(",");
}

/** Order data ids by their keys' values (numbers numerically), for stable argument order. */
export function compareDataIds(a: DataId, b: DataId): number {
  return compareSorted(a, sortedKeys(a), b, sortedKeys(b));
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
