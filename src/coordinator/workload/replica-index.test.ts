import { describe, expect, it } from "vitest";
import { ReplicaIndex } from "./replica-index.js";

describe("ReplicaIndex", () => {
  it("keeps a file's sites as the RSEs holding it come and go, several RSEs of one site included", () => {
    const index = new ReplicaIndex();
    index.setRseSite("a-disk", "site-a");
    index.setRseSite("a-tape", "site-a");
    index.setRseSite("b-disk", "site-b");
    const [a, b] = [index.site("site-a")!, index.site("site-b")!];
    const f = index.file("hsc:raw_1", 1000);
    expect(index.setReplica(f, "a-disk", true)).toBe(true);
    expect(index.setReplica(f, "a-tape", true)).toBe(false); // site-a already held it
    expect(index.setReplica(f, "b-disk", true)).toBe(true);
    expect(index.sites(f)).toBe((1 << a) | (1 << b));
    expect(index.setReplica(f, "a-disk", false)).toBe(false); // still on site-a's tape
    expect(index.setReplica(f, "a-tape", false)).toBe(true);
    expect(index.sites(f)).toBe(1 << b);
    expect(index.setReplicas(f, ["a-disk", "unknown-rse"])).toBe(true);
    expect(index.sites(f)).toBe(1 << a);
    expect(index.bytes(f)).toBe(1000);
  });

  it("ignores replicas at RSEs whose site it does not know yet", () => {
    const index = new ReplicaIndex();
    const f = index.file("hsc:raw_1");
    expect(index.knowsRse("x-disk")).toBe(false);
    expect(index.setReplica(f, "x-disk", true)).toBe(false);
    expect(index.sites(f)).toBe(0);
  });

  it("knows which agents cache a file, from whole reports and deltas", () => {
    const index = new ReplicaIndex();
    const [one, two] = index.setCache("agent-1", ["hsc:a", "hsc:b"]);
    index.addCached("agent-2", ["hsc:a"]);
    expect([...index.cachedBy(one!)!]).toEqual(["agent-1", "agent-2"]);
    index.removeCached("agent-1", ["hsc:a"]);
    expect([...index.cachedBy(one!)!]).toEqual(["agent-2"]);
    index.dropAgent("agent-2");
    expect(index.cachedBy(one!)).toBeUndefined();
    expect(index.cacheOf("agent-1").has(two!)).toBe(true);
    index.setCache("agent-1", []);
    expect(index.cacheOf("agent-1").size).toBe(0);
  });
});
