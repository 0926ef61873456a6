// The conformance suite of the QuantaStore port (BullMQ style): every
// implementation runs it, on the real server it stores in. A campaign stored
// with one definition per quantum, with progress only for quanta that left
// their first state, comes back as it was saved; a restarted manager reading
// it has every quantum as it was.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../src/common/logger.js";
import { expandGraph, parseCampaign, type CatalogFile } from "../src/coordinator/campaign/index.js";
import { buildExpansion, CampaignTable, progressToStore, saveCampaign, settleRows, WorkloadManager, type CampaignKeys, type CampaignRecord, type IdentityRecord, type QuantaStore, type QuantumProgress, type RowsView } from "../src/coordinator/workload/index.js";

/** A store the suite opened; it closes every one it opens. */
export type OpenedQuantaStore = QuantaStore & { close(): Promise<void> };

/**
 * How an implementation lays its records out, seen beneath the port: what the
 * suite checks that the port cannot show (nothing left behind, one definition
 * per quantum).
 */
export interface QuantaStoreLayout {
  /** Definitions stored under one generation of a campaign, committed or not. */
  definitionCount(c: CampaignKeys): Promise<number>;
  /** Generations of a campaign that have definitions stored. */
  definitionGenerations(campaign: string): Promise<string[]>;
  /** How many of a generation's records (its definitions, its row index) are still stored. */
  generationRecords(c: CampaignKeys): Promise<number>;
  /** Quanta of a campaign with stored progress. */
  progressIds(campaign: string): Promise<string[]>;
}

/** An implementation under test: its server started, stores on it opened at will (each a new connection, as a restarted coordinator's). */
export interface QuantaStoreBackend {
  open(): Promise<OpenedQuantaStore>;
  layout: QuantaStoreLayout;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

const T = "2026-03-01T04:05:06Z";
/** Thousands of raws, so a campaign's definitions take several HSET commands to write and HMGET rounds to read. */
const RAWS = 2100;

function specFor(name: string, tail = "") {
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
${tail}data: {scope: hsc}
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

/** Where a quantum stands and what links it, as a user would compare it (a restored lease gets a fresh deadline). */
function view(rows: RowsView, row: number) {
  const { lease, ...progress } = rows.progress(row);
  return {
    id: rows.id(row),
    task: rows.task(row),
    identity: rows.identity(row),
    upstream: [...rows.upstream(row)],
    downstream: [...rows.downstream(row)],
    progress: { ...progress, lease: lease && { id: lease.id, agent: lease.agent } },
  };
}

const silent = createLogger("quanta-store-test");
const noCatalog = { files: () => Promise.resolve([]) };

/** Runs the QuantaStore conformance suite against one implementation, started once for the suite by `start`. */
export function describeQuantaStore(name: string, start: () => Promise<QuantaStoreBackend>): void {
  describe(`QuantaStore conformance: ${name}`, () => {
    let backend: QuantaStoreBackend | undefined;
    const stores: OpenedQuantaStore[] = [];
    const openStore = async () => {
      const s = await backend!.open();
      stores.push(s);
      return s;
    };
    const layout = () => backend!.layout;

    beforeAll(async () => {
      backend = await start();
    });

    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
      await backend?.stop();
    });

    it("loadAll gives back the saved task ranges and only the progress that was stored; the definitions come back one field per quantum", async () => {
      const store = await openStore();
      const spec = specFor("store");
      const expansion = buildExpansion(spec, expandGraph(spec, catalog()));
      expect(expansion.count).toBe(2 * RAWS);
      const record: CampaignRecord = { name: spec.name, state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: JSON.stringify(spec), tasks: ["isr", "calibrate"], expanded: ["isr", "calibrate"], expansionError: "", generation: "g1" };
      const table = new CampaignTable();
      const live = table.addCampaign(record, spec);
      const rows = live.rows;
      rows.append(expansion);
      // One quantum has moved on before it is stored (as a reused one would have).
      const changed = RAWS + 5;
      settleRows(rows, 0, expansion.count, new Map([[changed, [{ role: "calexp", did: "hsc-drp:x", rse: "site-a-disk", bytes: 5, adler32: "a", md5: "m" }]]]));
      expect(rows.state(changed)).toBe("SKIPPED");
      const progress = progressToStore(rows, 0);
      expect([...progress.keys()]).toEqual([rows.id(changed)]);
      await saveCampaign(store, record, expansion, rows.ranges, progress);

      // One stored definition per quantum, each holding that quantum's definition, under this submit's generation.
      expect(await layout().definitionCount(record)).toBe(expansion.count);
      const sample = [0, RAWS - 1, RAWS, RAWS + 5, Math.floor(expansion.count / 2) + 17, expansion.count - 1];
      expect(await store.getDefinitions(record, sample.map((i) => expansion.id(i)))).toEqual(sample.map((i) => expansion.definition(i)));

      const [loaded] = (await store.loadAll()).filter((c) => c.record.name === spec.name);
      expect(loaded!.record).toEqual(record);
      expect(loaded!.ranges).toEqual([
        { task: "isr", start: 0, count: RAWS },
        { task: "calibrate", start: RAWS, count: RAWS },
      ]);
      expect(loaded!.ranges).toEqual(rows.ranges);
      const stored = new Map<string, QuantumProgress>();
      await store.scanProgress(spec.name, (id, p) => stored.set(id, p));
      expect(stored).toEqual(new Map([[rows.id(changed), rows.progress(changed)]]));
      // Every saved definition comes back, in row order, from the stored ranges.
      const ids = loaded!.ranges.flatMap((r) => Array.from({ length: r.count }, (_, k) => `${spec.name}.${r.task}.${k + 1}`));
      expect(ids).toEqual(Array.from({ length: expansion.count }, (_, i) => expansion.id(i)));
      expect(await store.getDefinitions(record, ids)).toEqual(Array.from({ length: expansion.count }, (_, i) => expansion.definition(i)));
      // ...and the stored row index has the same links and identities.
      expect(loaded!.batches).toHaveLength(1);
      const batch = loaded!.batches[0]!;
      expect(batch.count).toBe(expansion.count);
      expect(batch.ranges).toEqual(expansion.ranges);
      expect(batch.identities).toEqual(expansion.identities);
      expect(batch.upstream.start).toEqual(expansion.upstream.start);
      expect(batch.upstream.rows).toEqual(expansion.upstream.rows);

      // A resubmit writes its own generation; until it commits, the stored campaign is untouched,
      // and its commit drops the old definitions with the old record and progress.
      const again: CampaignRecord = { ...record, createdMs: 2, generation: "g2" };
      await store.writeDefinitions(again, expansion);
      expect(await layout().definitionCount(record)).toBe(expansion.count);
      expect((await store.loadAll()).find((c) => c.record.name === spec.name)!.record.generation).toBe("g1");
      await store.commitCampaign(again, rows.ranges, new Map(), expansion);
      expect(await layout().generationRecords(record)).toBe(0);
      expect(await layout().definitionCount(again)).toBe(expansion.count);
      expect((await store.loadAll()).find((c) => c.record.name === spec.name)!.record).toEqual(again);
      expect(await layout().progressIds(spec.name)).toEqual([]);
    });

    it("a restarted manager has every quantum as it was: those that moved on and those still in their first state", async () => {
      const spec = specFor("restart");
      const before = new WorkloadManager(await openStore(), silent, 60_000, () => {}, noCatalog);
      await before.submit(spec, expandGraph(spec, catalog()));
      // One quantum succeeds (its consumer becomes READY), one is left running, one fails (and waits to be retried).
      const grants = await before.lease({ id: "agent-1", site: "site-a", kind: "hpc", freeCores: 3, freeMemoryMB: 100_000, freeDiskMB: 100_000 });
      expect(grants.length).toBe(3);
      const [done, running, failed] = grants;
      const report = (g: typeof done, outcome: string, exitCode: number) =>
        before.report("agent-1", { leaseId: g!.leaseId, quantumId: g!.quantum.id, attempt: g!.attempt, outcome, exitCode, message: "", startMs: 1, endMs: 2, outputs: outcome === "succeeded" ? [{ role: "postISR", did: g!.quantum.outputs[0]!.did, rse: "site-a-disk", bytes: 7, adler32: "a7", md5: "m7" }] : [], stdout: "", stderr: "", provenanceJson: "{}" });
      await report(done, "succeeded", 0);
      await report(failed, "payload_error", 2);

      const afterStore = await openStore();
      const after = new WorkloadManager(afterStore, silent, 60_000, () => {}, noCatalog);
      await after.load();
      const was = (await before.inspect(spec.name))!;
      const now = (await after.inspect(spec.name))!;
      expect(now.rows.length).toBe(2 * RAWS);
      expect(now.rows.length).toBe(was.rows.length);
      expect(now.rows.ranges).toEqual(was.rows.ranges);
      expect(now.counts).toEqual(was.counts);
      expect(now.taskCounts).toEqual(was.taskCounts);
      expect([...now.ready].sort((a, b) => a - b)).toEqual([...was.ready].sort((a, b) => a - b));
      for (let row = 0; row < was.rows.length; row++) expect(view(now.rows, row)).toEqual(view(was.rows, row));
      // The three that moved on are stored; the thousands still in their first state are not.
      const stored = await layout().progressIds(spec.name);
      const consumer = `${spec.name}.calibrate.${done!.quantum.id.split(".").pop()!}`;
      expect(stored.sort()).toEqual([done!.quantum.id, running!.quantum.id, failed!.quantum.id, consumer].sort());

      const at = (id: string) => {
        const row = now.rows.rowOf(id);
        expect(row).toBeDefined();
        return row!;
      };
      expect(now.rows.progress(at(done!.quantum.id)).state).toBe("SUCCEEDED");
      expect(now.rows.progress(at(failed!.quantum.id))).toMatchObject({ state: "READY", failures: 1 });
      expect(now.rows.progress(at(consumer)).state).toBe("READY");
      // The RUNNING lease survives, with a fresh deadline for its agent to report.
      const runningRow = at(running!.quantum.id);
      expect(now.rows.progress(runningRow).state).toBe("RUNNING");
      expect(now.rows.progress(runningRow).lease).toMatchObject({ id: running!.leaseId, agent: "agent-1" });
      expect(now.rows.leased.has(runningRow)).toBe(true);
      expect(now.rows.progress(at(`${spec.name}.isr.${RAWS}`))).toEqual({ state: "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [] });
      expect(now.rows.progress(at(`${spec.name}.calibrate.${RAWS}`)).state).toBe("PENDING");

      // The consumer's lease reads the file its maker made, with that file's bytes. It became READY
      // after the isr quanta, so the restarted manager hands those out first (sharing turns with the
      // other campaign in this Redis): lease until it comes, at most every ready quantum of both.
      let grant: Awaited<ReturnType<typeof after.lease>>[number] | undefined;
      for (let round = 0; round < (4 * RAWS) / 64 + 10 && !grant; round++) {
        const batch = await after.lease({ id: "agent-2", site: "site-a", kind: "hpc", freeCores: 64, freeMemoryMB: 1_000_000, freeDiskMB: 1_000_000 });
        if (batch.length === 0) break;
        grant = batch.find((g) => g.quantum.id === consumer);
      }
      expect(grant).toBeDefined();
      expect(grant!.quantum.inputs[0]!.bytes).toBe(7);
      expect(grant!.quantum.inputs[0]).toMatchObject({ producer: done!.quantum.id, did: done!.quantum.outputs[0]!.did, bytes: 7, adler32: "a7", md5: "m7", rses: ["site-a-disk"] });
      expect(grant!.memoryMB).toBe(1024);
    });

    it("of two submits of one name at once, one is stored; the refused one leaves no definitions behind", async () => {
      const store = await openStore();
      const manager = new WorkloadManager(store, silent, 60_000, () => {}, noCatalog);
      const spec = specFor("twice");
      // Both pass the first check (neither is stored yet); the mailbox refuses the second.
      const results = await Promise.allSettled([manager.submit(spec, expandGraph(spec, catalog())), manager.submit(spec, expandGraph(spec, catalog()))]);
      expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const refused = results.find((r) => r.status === "rejected")!;
      expect(String(refused.reason)).toMatch(/still RUNNING/);
      const generation = (await manager.inspect(spec.name))!.generation;
      expect(await layout().definitionGenerations(spec.name)).toEqual([generation]);
      expect(await layout().definitionCount({ name: spec.name, generation })).toBe(2 * RAWS);
    });

    it("a restarted manager has the quanta of a deferred expansion, linked to the makers they read, from its stored row index", async () => {
      const store = await openStore();
      const before = new WorkloadManager(store, silent, 60_000, () => {}, noCatalog);
      const spec = specFor(
        "deferred-restart",
        `    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument]
      inputs: {calexp: {datasetType: calexp, multiple: true}}
      outputs: {coadd: {datasetType: deepCoadd}}
      deferred: true
priority: 900
`,
      );
      const few = catalog();
      few.set("raw", few.get("raw")!.slice(0, 3));
      await before.submit(spec, expandGraph(spec, few));
      const c = (await before.inspect(spec.name))!;
      const agent = { id: "agent-1", site: "site-a", kind: "hpc", freeCores: 64, freeMemoryMB: 1_000_000, freeDiskMB: 1_000_000 };
      // isr, then calibrate: each quantum succeeds with one file.
      for (let round = 0; round < 2; round++) {
        for (const g of await before.lease(agent)) {
          const o = g.quantum.outputs[0]!;
          await before.report("agent-1", { leaseId: g.leaseId, quantumId: g.quantum.id, attempt: g.attempt, outcome: "succeeded", exitCode: 0, message: "", startMs: 1, endMs: 2, outputs: [{ role: o.role, did: o.did, rse: "site-a-disk", bytes: 9, adler32: "a9", md5: `md5-${g.quantum.id}` }], stdout: "", stderr: "", provenanceJson: "{}" });
        }
      }
      // The coadd is expanded from what the calibrates produced, in the background.
      for (let waited = 0; c.rows.length < 7 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(c.rows.length).toBe(7);
      const coadd = c.rows.rowOf(`${spec.name}.coadd.1`)!;

      const after = new WorkloadManager(await openStore(), silent, 60_000, () => {}, noCatalog);
      await after.load();
      const now = (await after.inspect(spec.name))!;
      expect(now.rows.ranges).toEqual(c.rows.ranges);
      expect(now.rows.state(coadd)).toBe("READY");
      expect([...now.rows.upstream(coadd)].map((r) => now.rows.id(r))).toEqual([1, 2, 3].map((n) => `${spec.name}.calibrate.${n}`));
      expect(now.rows.identity(coadd)).toBe(c.rows.identity(coadd));
      expect([...now.rows.downstream(now.rows.rowOf(`${spec.name}.calibrate.2`)!)]).toEqual([coadd]);
      // Its lease reads the three calexps as they were produced (its priority puts it before the other tests' campaigns here).
      const [grant] = await after.lease(agent);
      expect(grant!.quantum.id).toBe(`${spec.name}.coadd.1`);
      expect(grant!.quantum.inputs.map((i) => i.md5)).toEqual([1, 2, 3].map((n) => `md5-${spec.name}.calibrate.${n}`));
    });

    it("attempt logs and provenance, progress with identity records, campaign updates and dropped definitions read back as saved; what was never saved is absent", async () => {
      const store = await openStore();
      const spec = specFor("records");
      const few = catalog();
      few.set("raw", few.get("raw")!.slice(0, 3));
      const expansion = buildExpansion(spec, expandGraph(spec, few));
      const record: CampaignRecord = { name: spec.name, state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: JSON.stringify(spec), tasks: ["isr", "calibrate"], expanded: ["isr", "calibrate"], expansionError: "", generation: "r1" };
      const live = new CampaignTable().addCampaign(record, spec);
      live.rows.append(expansion);
      settleRows(live.rows, 0, expansion.count, new Map());
      await saveCampaign(store, record, expansion, live.rows.ranges, progressToStore(live.rows, 0));
      const [q, other] = [expansion.id(0), expansion.id(1)];

      // Logs and provenance, by quantum and attempt.
      expect(await store.getLogs(q, 1)).toBeUndefined();
      expect(await store.getProvenance(q, 1)).toBeUndefined();
      await store.saveAttemptRecords(q, 1, { stdout: "out 1\n", stderr: "" }, '{"attempt":1}');
      await store.saveAttemptRecords(q, 2, { stdout: "", stderr: "err 2\n" }, '{"attempt":2}');
      expect(await store.getLogs(q, 1)).toEqual({ stdout: "out 1\n", stderr: "" });
      expect(await store.getLogs(q, 2)).toEqual({ stdout: "", stderr: "err 2\n" });
      expect(await store.getProvenance(q, 1)).toBe('{"attempt":1}');
      expect(await store.getProvenance(q, 2)).toBe('{"attempt":2}');
      expect(await store.getLogs(q, 3)).toBeUndefined();
      expect(await store.getLogs(other, 1)).toBeUndefined();

      // Progress and the identity record of a quantum that succeeded, saved together; only what was stored comes back.
      const succeeded: QuantumProgress = {
        state: "SUCCEEDED",
        attempts: [{ number: 1, agent: "agent-1", site: "site-a", leaseId: `${q}#1`, outcome: "succeeded", exitCode: 0, message: "", startMs: 1, endMs: 2 }],
        failures: 0,
        kills: 0,
        infraErrors: 0,
        memoryMB: 256,
        readyAtMs: 0,
        produced: [{ role: "postISR", did: "hsc-drp:p0", rse: "site-a-disk", bytes: 7, adler32: "a7", md5: "m7" }],
      };
      // Identity records are not a campaign's (an identical quantum of any campaign shares one): hashes of this test's own.
      const [hash, unknownHash] = ["7e57ec0de", "7e57ab5e7"].map((h) => h.padEnd(32, "0"));
      const identity: IdentityRecord = { quantum: q, campaign: spec.name, task: "isr", outputs: [{ role: "postISR", did: "hsc-drp:p0", datasetType: "postISRCCD", bytes: 7, adler32: "a7", md5: "m7" }] };
      expect(await store.getIdentities([hash!])).toEqual(new Map());
      await store.saveProgress(spec.name, new Map([[q, succeeded]]), new Map([[hash!, identity]]));
      expect(await store.getProgress(spec.name, [other, q, `${spec.name}.isr.99`])).toEqual(new Map([[q, succeeded]]));
      expect(await store.getProgress("no-such-campaign", [q])).toEqual(new Map());
      expect(await store.getIdentities([hash!, hash!, unknownHash!])).toEqual(new Map([[hash!, identity]]));
      expect(await layout().progressIds(spec.name)).toEqual([q]);
      const scanned = new Map<string, QuantumProgress>();
      await store.scanProgress(spec.name, (id, p) => scanned.set(id, p));
      expect(scanned).toEqual(new Map([[q, succeeded]]));

      // An update changes what changes while a campaign runs, never its spec, tasks or generation.
      await store.updateCampaign({ name: spec.name, state: "PAUSED", priority: 7, share: 3, createdMs: 1, finishedMs: 0, expanded: ["isr"], expansionError: "" });
      const loaded = async () => (await store.loadAll()).find((c) => c.record.name === spec.name)!;
      expect((await loaded()).record).toEqual({ ...record, state: "PAUSED", priority: 7, share: 3, expanded: ["isr"] });
      // A deferred expansion that failed: no new rows; its state and error are stored, with the same ranges.
      await store.saveExpansion({ name: spec.name, generation: "r1", state: "FAILED", finishedMs: 9, expanded: ["isr"], expansionError: "no inputs" }, live.rows.ranges, new Map());
      expect((await loaded()).record).toEqual({ ...record, state: "FAILED", priority: 7, share: 3, finishedMs: 9, expanded: ["isr"], expansionError: "no inputs" });
      expect((await loaded()).ranges).toEqual(live.rows.ranges);

      // Definitions of a generation never committed are dropped; the committed ones stay.
      const uncommitted = { name: spec.name, generation: "r2" };
      await store.writeDefinitions(uncommitted, expansion);
      expect(await layout().definitionGenerations(spec.name)).toEqual(["r1", "r2"]);
      expect(await layout().definitionCount(uncommitted)).toBe(expansion.count);
      expect((await loaded()).record.generation).toBe("r1");
      await store.dropDefinitions(uncommitted);
      expect(await layout().definitionGenerations(spec.name)).toEqual(["r1"]);
      expect(await layout().generationRecords(uncommitted)).toBe(0);
      expect(await store.getDefinitions(record, [other, q])).toEqual([expansion.definition(1), expansion.definition(0)]);
    });
    it("a ticket is stored with the progress that failed its quantum: a restarted manager lists it, closes it when the retried quantum succeeds; a resubmit drops it", async () => {
      const spec = specFor("ticketed", "retries: {failures: 0, kills: 3}\n");
      const few = catalog();
      few.set("raw", few.get("raw")!.slice(0, 1));
      const slot = { id: "agent-1", site: "site-a", kind: "hpc", freeCores: 1, freeMemoryMB: 100_000, freeDiskMB: 100_000 };
      const report = async (m: WorkloadManager, outcome: string, exitCode: number, stderr: string) => {
        const [g] = await m.lease(slot);
        expect(g?.quantum.id).toBe("ticketed.isr.1");
        await m.report("agent-1", { leaseId: g!.leaseId, quantumId: g!.quantum.id, attempt: g!.attempt, outcome, exitCode, message: `exit code ${exitCode}`, startMs: 1, endMs: 2, outputs: outcome === "succeeded" ? [{ role: "postISR", did: g!.quantum.outputs[0]!.did, rse: "site-a-disk", bytes: 7, adler32: "a7", md5: "m7" }] : [], stdout: "", stderr, provenanceJson: "{}" });
      };
      const first = new WorkloadManager(await openStore(), silent, 60_000, () => {}, noCatalog);
      await first.submit(spec, expandGraph(spec, few));
      await report(first, "payload_error", 3, "step 1\nboom\n");
      expect((await first.status("ticketed", []))[0]!.state).toBe("FAILED");

      const second = new WorkloadManager(await openStore(), silent, 60_000, () => {}, noCatalog);
      await second.load();
      const [open] = await second.tickets.list({ open: true, campaign: "ticketed" });
      expect(open).toMatchObject({ quantum: "ticketed.isr.1", campaign: "ticketed", task: "isr", state: "open", outcome: "payload_error", exitCode: 3, message: "exit code 3", stderrTail: "step 1\nboom", attempt: 1, closedMs: 0, quantumState: "FAILED" });
      expect(await second.tickets.retry("ticketed")).toMatchObject({ requeued: 1, unblocked: 1, state: "RUNNING" });
      await report(second, "succeeded", 0, "");

      const third = new WorkloadManager(await openStore(), silent, 60_000, () => {}, noCatalog);
      await third.load();
      expect(await third.tickets.list({ open: true })).toEqual([]);
      const [closed] = await third.tickets.list({ campaign: "ticketed" });
      expect(closed).toMatchObject({ quantum: "ticketed.isr.1", state: "closed", exitCode: 3, quantumState: "SUCCEEDED", openedMs: open!.openedMs });
      expect(closed!.closedMs).toBeGreaterThanOrEqual(open!.openedMs);

      // A resubmit of the name (a new generation) has none of the old one's tickets.
      const store = await openStore();
      const [stored] = (await store.loadAll()).filter((c) => c.record.name === "ticketed");
      expect(stored!.tickets.map((t) => t.state)).toEqual(["closed"]);
      const expansion = buildExpansion(spec, expandGraph(spec, few));
      const table = new CampaignTable();
      const record: CampaignRecord = { ...stored!.record, state: "RUNNING", generation: "resubmitted" };
      const live = table.addCampaign(record, spec);
      live.rows.append(expansion);
      settleRows(live.rows, 0, expansion.count, new Map());
      await saveCampaign(store, record, expansion, live.rows.ranges, progressToStore(live.rows, 0));
      const [resubmitted] = (await store.loadAll()).filter((c) => c.record.name === "ticketed");
      expect(resubmitted!.record.generation).toBe("resubmitted");
      expect(resubmitted!.tickets).toEqual([]);
    });
  });
}
