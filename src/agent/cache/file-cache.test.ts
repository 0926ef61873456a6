import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { QuantumResultSchema } from "../../gen/orrery/v1/agent_link_pb.js";
import { AttemptOutcome } from "../../gen/orrery/v1/common_pb.js";
import { openAgentStore, type AgentStore } from "./agent-store.js";

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);

describe("agent LMDB cache", () => {
  let dir: string;
  let store: AgentStore | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "orrery-cache-"));
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores and serves a file by DID and md5", async () => {
    store = openAgentStore(join(dir, "db"), 1000);
    expect(await store.cache.put("hsc:a.fits", "m1", bytes(100, 7))).toBe(true);
    expect(store.cache.get("hsc:a.fits", "m1")).toEqual(bytes(100, 7));
    expect(store.cache.get("hsc:a.fits", "other-md5")).toBeUndefined();
    const out = join(dir, "a.fits");
    expect(await store.cache.writeTo("hsc:a.fits", "m1", out)).toEqual({ kind: "hit" });
    expect(readFileSync(out)).toEqual(bytes(100, 7));
    expect(store.cache.stats()).toMatchObject({ bytes: 100, files: 1 });
  });

  it("tells what entered and left it since it was last asked, and names its files most recently used first", async () => {
    store = openAgentStore(join(dir, "db"), 250);
    const { cache } = store;
    await cache.put("s:a", "ma", bytes(100, 1));
    await new Promise((r) => setTimeout(r, 5));
    await cache.put("s:b", "mb", bytes(100, 2));
    expect(cache.drainChanges()).toEqual({ added: ["s:a", "s:b"], removed: [] });
    expect(cache.drainChanges()).toEqual({ added: [], removed: [] });
    await new Promise((r) => setTimeout(r, 5));
    await cache.put("s:c", "mc", bytes(100, 3)); // evicts a
    expect(cache.drainChanges()).toEqual({ added: ["s:c"], removed: ["s:a"] });
    expect(cache.recentDids(10)).toEqual(["s:c", "s:b"]);
    expect(cache.recentDids(1)).toEqual(["s:c"]);
  });

  it("evicts the least recently used files to stay within its budget", async () => {
    store = openAgentStore(join(dir, "db"), 300);
    const { cache } = store;
    await cache.put("s:a", "ma", bytes(100, 1));
    await new Promise((r) => setTimeout(r, 5));
    await cache.put("s:b", "mb", bytes(100, 2));
    await new Promise((r) => setTimeout(r, 5));
    await cache.put("s:c", "mc", bytes(100, 3));
    await new Promise((r) => setTimeout(r, 5));
    cache.get("s:a", "ma"); // a is now the most recently used
    await new Promise((r) => setTimeout(r, 20));
    await cache.put("s:d", "md", bytes(150, 4));
    expect(cache.has("s:a", "ma")).toBe(true);
    expect(cache.has("s:b", "mb")).toBe(false);
    expect(cache.has("s:c", "mc")).toBe(false);
    expect(cache.has("s:d", "md")).toBe(true);
    expect(cache.stats()).toMatchObject({ bytes: 250, files: 2 });
    expect(cache.stats().bytes).toBeLessThanOrEqual(300);
    // Larger than the whole budget: not cached, nothing evicted.
    expect(await cache.put("s:e", "me", bytes(301, 5))).toBe(false);
    expect(cache.stats().files).toBe(2);
  });

  it("never evicts a pinned file", async () => {
    store = openAgentStore(join(dir, "db"), 200);
    const { cache } = store;
    await cache.put("s:a", "ma", bytes(100, 1));
    await cache.put("s:b", "mb", bytes(100, 2));
    const releaseA = cache.pin("s:a", "ma");
    const releaseB = cache.pin("s:b", "mb");
    expect(await cache.put("s:c", "mc", bytes(100, 3))).toBe(false);
    expect(cache.has("s:a", "ma") && cache.has("s:b", "mb")).toBe(true);
    releaseB();
    expect(await cache.put("s:c", "mc", bytes(100, 3))).toBe(true);
    expect(cache.has("s:a", "ma")).toBe(true);
    expect(cache.has("s:b", "mb")).toBe(false);
    releaseA();
  });

  it("keeps entries and the journal across close and reopen", async () => {
    store = openAgentStore(join(dir, "db"), 1000);
    await store.cache.put("s:a", "ma", bytes(64, 9));
    await store.journal.leaseStarted({ leaseId: "L1", quantumId: "q1", attempt: 1, startMs: 1 });
    await store.journal.leaseStarted({ leaseId: "L2", quantumId: "q2", attempt: 1, startMs: 2 });
    await store.journal.resultReady(create(QuantumResultSchema, { leaseId: "L2", quantumId: "q2", attempt: 1, outcome: AttemptOutcome.SUCCEEDED }));
    await store.close();
    store = openAgentStore(join(dir, "db"), 1000);
    expect(store.cache.get("s:a", "ma")).toEqual(bytes(64, 9));
    expect(store.cache.stats()).toMatchObject({ bytes: 64, files: 1 });
    expect(store.journal.inFlight().map((l) => l.leaseId)).toEqual(["L1"]);
    expect(store.journal.pendingResults().map((r) => [r.leaseId, r.outcome])).toEqual([["L2", AttemptOutcome.SUCCEEDED]]);
    await store.journal.resultAcknowledged("L2");
    expect(store.journal.pendingResults()).toEqual([]);
  });
});
