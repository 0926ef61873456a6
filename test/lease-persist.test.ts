// Leases and results when the coordinator cannot store: a real manager on a
// real redis-server, behind a store whose writes can be made to fail (as
// they do while Redis is down). A lease not stored is taken back; a result
// is acknowledged only once stored; no lease expires during the outage; a
// late result for a lease nobody else holds is taken.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../src/common/logger.js";
import { startRedis, type RedisServer } from "../src/common/local/servers.js";
import { stopProcess } from "../src/common/local/child.js";
import { CoordinatorStore } from "../src/coordinator/store/index.js";
import { expandGraph, parseCampaign, type CatalogFile } from "../src/coordinator/campaign/index.js";
import { WorkloadManager, type LeaseGrant, type StoreChanges } from "../src/coordinator/workload/index.js";
import { ErrorCode, OrreryError } from "../src/common/errors.js";
import { tempDir } from "./harness.js";

/** The Redis store, whose writes and pings fail while `down` is set. */
class FlakyStore extends CoordinatorStore {
  down = false;
  override saveChanges(changes: StoreChanges): Promise<void> {
    return this.down ? Promise.reject(new OrreryError(ErrorCode.UNAVAILABLE, "Redis is down (test)")) : super.saveChanges(changes);
  }
  override ping(): Promise<void> {
    return this.down ? Promise.reject(new OrreryError(ErrorCode.UNAVAILABLE, "Redis is down (test)")) : super.ping();
  }
}

const silent = createLogger("lease-persist-test");
const noCatalog = { files: () => Promise.resolve([]) };
const agent = (cores: number) => ({ id: "agent-1", site: "site-a", kind: "hpc", freeCores: cores, freeMemoryMB: 100_000, freeDiskMB: 100_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function campaign(name: string) {
  const spec = parseCampaign({
    sourceName: `${name}.yaml`,
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [exposure]
      inputs: {raw: {datasetType: raw}}
      outputs: {postISR: {datasetType: postISRCCD}}
      resources: {memoryMB: 256}
data: {scope: lp}
retries: {kills: 3}
output: {scope: lp-out, run: ${name}/run1}
`,
  });
  const raws: CatalogFile[] = [1, 2, 3].map((n) => ({ scope: "lp", name: `raw_${n}.fits`, datasetType: "raw", dataId: { exposure: n }, metadata: {}, bytes: 10, adler32: "", md5: "", validFrom: "", validTo: "", rses: ["site-a-disk"] }));
  return { spec, graph: expandGraph(spec, new Map([["raw", raws]])) };
}

function succeeded(g: LeaseGrant) {
  const o = g.quantum.outputs[0]!;
  return { leaseId: g.leaseId, quantumId: g.quantum.id, attempt: g.attempt, outcome: "succeeded", exitCode: 0, message: "", startMs: 1, endMs: 2, outputs: [{ role: o.role, did: o.did, rse: "site-a-disk", bytes: 5, adler32: "a5", md5: "m5" }], stdout: "", stderr: "", provenanceJson: "{}" };
}

describe("leases and results while the store fails", () => {
  let dir: string;
  let redis: RedisServer;
  const stores: CoordinatorStore[] = [];
  const open = async () => {
    const s = new FlakyStore(redis.url);
    await s.connect();
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    dir = tempDir("lease-persist");
    mkdirSync(join(dir, "logs"), { recursive: true });
    redis = await startRedis({ dir, logDir: join(dir, "logs") });
  });

  afterAll(async () => {
    for (const s of stores) await s.close();
    await stopProcess(redis.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes back a lease whose save fails: READY again, nothing sent, nothing held; the next lease is attempt 1", async () => {
    const store = await open();
    const manager = new WorkloadManager(store, silent, 60_000, () => {}, noCatalog);
    const { spec, graph } = campaign("undo");
    await manager.submit(spec, graph);
    const before = (await manager.inspect("undo"))!;
    const readyBefore = [...before.ready];
    const progressBefore = [0, 1, 2].map((r) => before.rows.progress(r));

    store.down = true;
    await expect(manager.lease(agent(8))).rejects.toThrow(/Redis is down/);
    const after = (await manager.inspect("undo"))!;
    expect(after.counts).toMatchObject({ READY: 3, RUNNING: 0 });
    expect([...after.ready]).toEqual(readyBefore);
    expect(after.rows.leased.size).toBe(0);
    expect([0, 1, 2].map((r) => after.rows.progress(r))).toEqual(progressBefore);

    store.down = false;
    const grants = await manager.lease(agent(8));
    expect(grants.map((g) => g.attempt)).toEqual([1, 1, 1]);
    expect((await manager.inspect("undo"))!.counts).toMatchObject({ READY: 0, RUNNING: 3 });
    // What a restarted coordinator reads: the three leases, each with one attempt.
    const reloaded = new WorkloadManager(await open(), silent, 60_000, () => {}, noCatalog);
    await reloaded.load();
    const rows = (await reloaded.inspect("undo"))!.rows;
    expect([0, 1, 2].map((r) => [rows.state(r), rows.progress(r).attempts.length])).toEqual([["RUNNING", 1], ["RUNNING", 1], ["RUNNING", 1]]);
  });

  it("acknowledges a result only once stored, expires no lease while the store fails, and gives leases a TTL after it", async () => {
    const store = await open();
    const ttl = 300;
    const manager = new WorkloadManager(store, silent, ttl, () => {}, noCatalog);
    const { spec, graph } = campaign("outage");
    await manager.submit(spec, graph);
    const [done, running] = await manager.lease(agent(2));
    store.down = true;
    let acked = false;
    const report = manager.report("agent-1", succeeded(done!)).then(() => (acked = true));
    // Several TTLs pass with the store down and no heartbeat: nothing is declared lost.
    for (let i = 0; i < 8; i++) {
      await manager.expire();
      await sleep(100);
    }
    expect(acked).toBe(false);
    let c = (await manager.inspect("outage"))!;
    const runningRow = c.rows.rowOf(running!.quantum.id)!;
    expect(c.rows.state(runningRow)).toBe("RUNNING");
    expect(c.rows.progress(runningRow).attempts.map((a) => a.outcome)).toEqual([""]);

    store.down = false;
    await manager.expire();
    await report;
    expect(acked).toBe(true);
    c = (await manager.inspect("outage"))!;
    expect(c.rows.state(runningRow)).toBe("RUNNING");
    expect(c.rows.progress(runningRow).lease!.deadlineMs).toBeGreaterThan(Date.now() + ttl / 2);
    // Stored: a restarted coordinator has the result the store missed during the outage.
    const reloaded = new WorkloadManager(await open(), silent, ttl, () => {}, noCatalog);
    await reloaded.load();
    const r = (await reloaded.inspect("outage"))!.rows;
    expect(r.state(r.rowOf(done!.quantum.id)!)).toBe("SUCCEEDED");
    // With the store back and still no heartbeat, the lease expires as it should.
    await sleep(ttl + 50);
    await manager.expire();
    c = (await manager.inspect("outage"))!;
    expect(c.rows.progress(runningRow)).toMatchObject({ state: "READY", kills: 1 });
  });

  it("takes a late result for a lease declared lost that nobody else holds; the kill is not counted", async () => {
    const store = await open();
    const manager = new WorkloadManager(store, silent, 100, () => {}, noCatalog);
    const { spec, graph } = campaign("late");
    await manager.submit(spec, graph);
    const [g] = await manager.lease(agent(1));
    await sleep(150);
    await manager.expire();
    let c = (await manager.inspect("late"))!;
    const row = c.rows.rowOf(g!.quantum.id)!;
    expect(c.rows.progress(row)).toMatchObject({ state: "READY", kills: 1 });
    await manager.report("agent-1", succeeded(g!));
    c = (await manager.inspect("late"))!;
    expect(c.rows.state(row)).toBe("SUCCEEDED");
    const stored = (await store.getProgress("late", [g!.quantum.id])).get(g!.quantum.id)!;
    expect(stored).toMatchObject({ state: "SUCCEEDED", kills: 0 });
    expect(stored.attempts.map((a) => [a.leaseId, a.outcome])).toEqual([[g!.leaseId, "succeeded"]]);
  });

  it("reopens a lease declared lost when its agent heartbeats it and nobody else took the quantum; refuses it once another has", async () => {
    const store = await open();
    const manager = new WorkloadManager(store, silent, 100, () => {}, noCatalog);
    const { spec, graph } = campaign("reopen");
    await manager.submit(spec, graph);
    const [g] = await manager.lease(agent(1));
    await sleep(150);
    await manager.expire();
    expect(await manager.renew("agent-1", [g!.leaseId])).toEqual({ stale: [], foreign: [] });
    const c = (await manager.inspect("reopen"))!;
    const row = c.rows.rowOf(g!.quantum.id)!;
    expect(c.rows.progress(row)).toMatchObject({ state: "RUNNING", kills: 0, lease: { id: g!.leaseId } });

    // Lost again, and this time leased to another agent before the heartbeat comes: stale.
    await sleep(150);
    await manager.expire();
    const others = await manager.lease({ ...agent(8), id: "agent-2" });
    expect(others.map((o) => o.quantum.id)).toContain(g!.quantum.id);
    expect(await manager.renew("agent-1", [g!.leaseId])).toEqual({ stale: [g!.leaseId], foreign: [] });
  });

  it("settles a re-run quantum's outputs once its success is stored, and again when a lost attempt's success comes late", async () => {
    const store = await open();
    const settled: { producedBy: string; keep: { did: string; rse: string }[] }[] = [];
    const catalog = { ...noCatalog, settleOutputs: (producedBy: string, keep: readonly { did: string; rse: string }[]) => (settled.push({ producedBy, keep: [...keep] }), Promise.resolve([])) };
    const manager = new WorkloadManager(store, silent, 100, () => {}, catalog);
    const { spec, graph } = campaign("settle");
    await manager.submit(spec, graph);
    const [first] = await manager.lease(agent(1));
    await sleep(150);
    await manager.expire(); // agent-1 lost
    const again = (await manager.lease({ ...agent(8), id: "agent-2", site: "site-b" })).find((g) => g.quantum.id === first!.quantum.id)!;
    expect(again.attempt).toBe(2);
    const did = again.quantum.outputs[0]!.did;
    await manager.report("agent-2", { ...succeeded(again), outputs: [{ role: "postISR", did, rse: "site-b-disk", bytes: 5, adler32: "a5", md5: "m5" }] });
    for (let i = 0; i < 50 && settled.length < 1; i++) await sleep(20);
    expect(settled).toEqual([{ producedBy: first!.quantum.id, keep: [{ did, rse: "site-b-disk" }] }]);
    // The lost attempt's own success arrives: not taken, and the accepted outputs are settled again (read from Redis).
    await manager.report("agent-1", succeeded(first!));
    for (let i = 0; i < 50 && settled.length < 2; i++) await sleep(20);
    expect(settled[1]).toEqual({ producedBy: first!.quantum.id, keep: [{ did, rse: "site-b-disk" }] });
    const stored = (await store.getProgress("settle", [first!.quantum.id])).get(first!.quantum.id)!;
    expect(stored.attempts.map((a) => [a.agent, a.outcome])).toEqual([["agent-1", "lost"], ["agent-2", "succeeded"]]);
    // A coordinator restarted (perhaps before it could settle) settles re-run quanta again: the DBB call is idempotent.
    settled.length = 0;
    await new WorkloadManager(await open(), silent, 100, () => {}, catalog).load();
    for (let i = 0; i < 50 && settled.length < 1; i++) await sleep(20);
    expect(settled).toContainEqual({ producedBy: first!.quantum.id, keep: [{ did, rse: "site-b-disk" }] });
  });
});
