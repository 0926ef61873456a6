// A campaign stored in definition chunks, with progress only for quanta that
// left their first state, comes back from a real redis-server as it was saved.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startRedis, type RedisServer } from "../src/common/local/servers.js";
import { stopProcess } from "../src/common/local/child.js";
import { createLogger } from "../src/common/logger.js";
import { expandGraph, parseCampaign, type CatalogFile } from "../src/coordinator/campaign/index.js";
import { CoordinatorStore } from "../src/coordinator/store/redis-store.js";
import { WorkloadManager } from "../src/coordinator/workload/manager.js";
import { buildQuanta } from "../src/coordinator/workload/quantum-builder.js";
import { progressToStore } from "../src/coordinator/workload/initial-progress.js";
import type { CampaignRecord, Quantum } from "../src/coordinator/workload/model.js";
import { tempDir } from "./harness.js";

const T = "2026-03-01T04:05:06Z";
/** More raws than one chunk holds (2000), so isr and calibrate span several chunks. */
const RAWS = 2100;

function specFor(name: string) {
  return parseCampaign({
    sourceName: `${name}.yaml`,
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, exposure, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs: {postISR: {datasetType: postISRCCD}}
      resources: {memoryMB: 256}
    calibrate:
      command: [node, calibrate.mjs]
      dimensions: [instrument, exposure, detector]
      inputs: {postISR: {datasetType: postISRCCD}}
      outputs: {calexp: {datasetType: calexp}}
data: {scope: hsc}
output: {scope: hsc-drp, run: ${name}/run1}
`,
  });
}

function catalog(): Map<string, CatalogFile[]> {
  const file = (datasetType: string, name: string, dataId: Record<string, number | string>, metadata: Record<string, unknown>): CatalogFile => ({
    scope: "hsc", name, datasetType, dataId, metadata, bytes: 100, adler32: `a-${name}`, md5: `m-${name}`, validFrom: "", validTo: "", rses: ["site-a-disk"],
  });
  const raws = Array.from({ length: RAWS }, (_, i) => file("raw", `raw/r_${i}.fits`, { instrument: "HSC", exposure: 1000 + Math.floor(i / 100), detector: i % 100 }, { obsTime: T }));
  const biases = Array.from({ length: 100 }, (_, d) => file("bias", `bias/b_${d}.fits`, { instrument: "HSC", detector: d }, {}));
  return new Map([["raw", raws], ["bias", biases]]);
}

/** What a quantum is and where it stands, as a user would compare it (a restored lease gets a fresh deadline). */
function view(q: Quantum) {
  const { lease, ...progress } = q.progress;
  return { ...q, progress: { ...progress, lease: lease && { id: lease.id, agent: lease.agent } } };
}

const silent = createLogger("quanta-store-test");
const noCatalog = { files: () => Promise.resolve([]) };

describe("chunked quantum store", () => {
  let dir: string;
  let redis: RedisServer;
  const stores: CoordinatorStore[] = [];
  const openStore = async () => {
    const s = new CoordinatorStore(redis.url);
    await s.connect();
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    dir = tempDir("quanta-store");
    mkdirSync(join(dir, "logs"), { recursive: true });
    redis = await startRedis({ dir, logDir: join(dir, "logs") });
  });

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    if (redis) await stopProcess(redis.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it("loadAll gives back the saved definitions in order, and only the progress that was stored", async () => {
    const store = await openStore();
    const spec = specFor("chunk-store");
    const quanta = buildQuanta(spec, expandGraph(spec, catalog()));
    expect(quanta.length).toBe(2 * RAWS);
    // One quantum has moved on before it is stored (as a reused one would have).
    const changed = quanta[RAWS + 5]!;
    Object.assign(changed.progress, { state: "SKIPPED", produced: [{ role: "calexp", did: "hsc-drp:x", rse: "site-a-disk", bytes: 5, adler32: "a", md5: "m" }] });
    const progress = progressToStore(spec, quanta);
    expect([...progress.keys()]).toEqual([changed.id]);
    const record: CampaignRecord = { name: spec.name, state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: JSON.stringify(spec), quantumIds: quanta.map((q) => q.id), tasks: ["isr", "calibrate"], expanded: ["isr", "calibrate"], expansionError: "" };
    await store.saveCampaign(record, quanta, progress);

    // Three chunks of at most 2000 quanta, not one field per quantum.
    expect(await store.redis.hlen(`orrery:campaign:${spec.name}:quanta`)).toBe(3);
    const [loaded] = (await store.loadAll()).filter((c) => c.record.name === spec.name);
    expect(loaded!.definitions).toEqual(quanta.map(({ progress: _p, downstream: _d, ...definition }) => definition));
    expect(loaded!.progress).toEqual(new Map([[changed.id, changed.progress]]));
    const { quantumIds: _ids, ...fields } = record;
    expect(loaded!.record).toEqual(fields);
  });

  it("a restarted manager has every quantum as it was: those that moved on and those still in their first state", async () => {
    const spec = specFor("chunk-restart");
    const before = new WorkloadManager(await openStore(), silent, 60_000, () => {}, noCatalog);
    await before.submit(spec, expandGraph(spec, catalog()));
    // One quantum succeeds (its consumer becomes READY), one is left running, one fails (and waits to be retried).
    const grants = await before.lease({ id: "agent-1", site: "site-a", kind: "hpc", freeCores: 3, freeMemoryMB: 100_000 });
    expect(grants.length).toBe(3);
    const [done, running, failed] = grants;
    const report = (g: typeof done, outcome: string, exitCode: number) =>
      before.report("agent-1", { leaseId: g!.leaseId, quantumId: g!.quantum.id, attempt: g!.attempt, outcome, exitCode, message: "", startMs: 1, endMs: 2, outputs: outcome === "succeeded" ? [{ role: "postISR", did: g!.quantum.outputs[0]!.did, rse: "site-a-disk", bytes: 7, adler32: "a7", md5: "m7" }] : [], stdout: "", stderr: "", provenanceJson: "{}" });
    await report(done, "succeeded", 0);
    await report(failed, "payload_error", 2);

    const after = new WorkloadManager(await openStore(), silent, 60_000, () => {}, noCatalog);
    await after.load();
    const was = before.table.campaigns.get(spec.name)!;
    const now = after.table.campaigns.get(spec.name)!;
    expect(now.quantumIds).toEqual(was.quantumIds);
    expect(now.counts).toEqual(was.counts);
    expect([...now.ready].sort()).toEqual([...was.ready].sort());
    for (const id of was.quantumIds) expect(view(after.table.quanta.get(id)!)).toEqual(view(before.table.quanta.get(id)!));
    // The three that moved on are stored; the thousands still in their first state are not.
    const stored = await stores[1]!.redis.hkeys(`orrery:campaign:${spec.name}:progress`);
    const consumer = `${spec.name}.calibrate.${done!.quantum.id.split(".").pop()!}`;
    expect(stored.sort()).toEqual([done!.quantum.id, running!.quantum.id, failed!.quantum.id, consumer].sort());
    expect(after.table.quanta.get(consumer)!.progress.state).toBe("READY");
    expect(after.table.quanta.get(consumer)!.inputs[0]!.bytes).toBe(7);
    expect(after.table.quanta.get(running!.quantum.id)!.progress.state).toBe("RUNNING");
    expect(after.table.quanta.get(`${spec.name}.isr.${RAWS}`)!.progress).toEqual({ state: "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [] });
    expect(after.table.quanta.get(`${spec.name}.calibrate.${RAWS}`)!.progress.state).toBe("PENDING");
  });
});
