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
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
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
