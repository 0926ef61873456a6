import { describe, expect, it } from "vitest";
import { compareDataIds, compareSorted, dataIdKey, sortedKeys, type DataId } from "../../common/data-id.js";
import { canonicalDataIdJson, valuesKey } from "./data-id-keys.js";
import { extensionOf } from "./outputs.js";

const IDS: DataId[] = [
  {},
  { instrument: "HSC", exposure: 903334, detector: 16 },
  { detector: 16, exposure: 903334, instrument: "HSC" },
  { instrument: "HSC", exposure: "903334", detector: 16 },
  { instrument: "HSC", detector: 16 },
  { instrument: "HSC", exposure: 903336, detector: 16, tract: 9813 },
  { instrument: "a\u0000b", detector: 1 },
  { instrument: "a", detector: "\u0000b" },
  { instrument: "s1", detector: 2 },
  { instrument: "HSC", exposure: -0, detector: 0 },
  { "10": 1, "9": 2, b: "x", a: 3 },
  { band: "é", visit: 1.5 },
];

describe("data-id keys", () => {
  it("valuesKey equals exactly when dataIdKey of the picked keys does (1 and \"1\" differ, no separator confusion)", () => {
    const keys = ["instrument", "exposure", "detector"];
    const pick = (d: DataId): DataId => Object.fromEntries(keys.filter((k) => k in d).map((k) => [k, d[k]!]));
    for (const a of IDS) {
      for (const b of IDS) {
        const sameKeys = keys.every((k) => k in a === k in b);
        if (!sameKeys) continue;
        const present = keys.filter((k) => k in a);
        expect(valuesKey(a, present) === valuesKey(b, present), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(dataIdKey(pick(a)) === dataIdKey(pick(b)));
      }
    }
    expect(valuesKey({ a: 1 }, ["a"])).not.toBe(valuesKey({ a: "1" }, ["a"]));
    expect(valuesKey({ a: "x\u0000sy", b: "z" }, ["a", "b"])).not.toBe(valuesKey({ a: "x", b: "y\u0000sz" }, ["a", "b"]));
  });

  it("canonicalDataIdJson is dataIdKey, integer-like keys included", () => {
    for (const d of IDS) expect(canonicalDataIdJson(d)).toBe(dataIdKey(d));
  });

  it("compareSorted orders as compareDataIds does", () => {
    for (const a of IDS) for (const b of IDS) expect(Math.sign(compareSorted(a, sortedKeys(a), b, sortedKeys(b)))).toBe(Math.sign(compareDataIds(a, b)));
  });

  it("extensionOf finds what /\\.[A-Za-z0-9]+$/ finds, else .dat", () => {
    const dids = ["hsc:raw/a.fits", "hsc:raw/a.tar.gz", "hsc:raw/a", "hsc:raw/a.", "hsc:raw/a.fi-ts", "hsc:raw/a.b/c", "", ".x9", "hsc:a.fits\n", "a.é"];
    for (const did of dids) expect(extensionOf(did), did).toBe(/\.[A-Za-z0-9]+$/.exec(did)?.[0] ?? ".dat");
  });
});
