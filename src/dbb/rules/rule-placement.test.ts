import { describe, expect, it } from "vitest";
import { chooseRses, missingLocks, weighted, type PlacementFile } from "./rule-placement.js";

function file(did: string, replicas: Record<string, string> = {}, locked: string[] = [], bytes = 100): PlacementFile {
  return { did, bytes, replicas: new Map(Object.entries(replicas)), locked: new Set(locked) };
}

/** A fixed sequence of draws, so a weighted choice is reproducible. */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const ABC = [
  { name: "a", weight: 1 },
  { name: "b", weight: 1 },
  { name: "c", weight: 1 },
];

describe("rule placement", () => {
  it("prefers RSEs holding the most bytes of the group, AVAILABLE over COPYING", () => {
    const files = [file("s:1", { b: "AVAILABLE" }, [], 10), file("s:2", { c: "COPYING" }, [], 10), file("s:3", { c: "AVAILABLE" }, [], 10)];
    expect(chooseRses(files, ABC, 1, draws(0.9, 0.1, 0.5))).toEqual(["c"]);
    expect(chooseRses(files, ABC, 2, draws(0.9, 0.1, 0.5))).toEqual(["c", "b"]);
  });

  it("keeps RSEs the rule already locks (a re-evaluation moves nothing)", () => {
    const f = file("s:1", { a: "AVAILABLE" }, ["b"]);
    expect(chooseRses([f], ABC, 1)).toEqual(["b"]);
  });

  it("ignores BAD and UNAVAILABLE replicas when ranking", () => {
    const f = file("s:1", { a: "BAD", b: "UNAVAILABLE" });
    expect(chooseRses([f], ABC, 1, draws(0.1, 0.2, 0.9))).toEqual(["c"]);
  });

  it("draws the rest at random, in proportion to weight", () => {
    const counts = { a: 0, b: 0 };
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 4000; i++) counts[chooseRses([], [{ name: "a", weight: 3 }, { name: "b", weight: 1 }], 1, random)[0] as "a" | "b"]++;
    expect(counts.a / 4000).toBeGreaterThan(0.7);
    expect(counts.a / 4000).toBeLessThan(0.8);
  });

  it("a weight attribute leaves out RSEs without a positive number", () => {
    const rses = [
      { name: "a", attributes: { w: "2" } },
      { name: "b", attributes: { w: "0" } },
      { name: "c", attributes: {} },
      { name: "d", attributes: { w: "lots" } },
    ];
    expect(weighted(rses, "w")).toEqual([{ name: "a", weight: 2 }]);
    expect(weighted(rses, "").map((c) => c.name)).toEqual(["a", "b", "c", "d"]);
  });

  it("missing locks are every file at every chosen RSE not locked yet", () => {
    const files = [file("s:1", {}, ["a"]), file("s:2")];
    expect(missingLocks(files, ["a", "b"]).map((l) => `${l.file.did}@${l.rse}`)).toEqual(["s:1@b", "s:2@a", "s:2@b"]);
  });
});
