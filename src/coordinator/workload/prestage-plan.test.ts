import { describe, expect, it } from "vitest";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, type LiveCampaign } from "./campaign-table.js";
import type { CampaignRecord } from "./model.js";
import { setFirstStates } from "./initial-progress.js";
import { PrestageLedger } from "./prestage-ledger.js";
import { planPrestage, prestageTurn, type PrestageSite, type PrestageTurnOptions } from "./prestage-plan.js";

const NOW = 1_750_000_000_000;
const OPTS: PrestageTurnOptions = { quantaPerCore: 2, maxQuantaPerPass: 100, maxFilesPerPass: 1000, stagedTimeoutMs: 600_000, lifetimeMs: 7_200_000 };

interface Row {
  /** Input files: DID and the RSEs holding it (`<site>-disk` is at `<site>`). */
  files?: [string, string[]][];
  upstream?: number[];
}

/** A campaign of 1-core quanta in `t`, its rows reading the listed files. */
function addCampaign(t: CampaignTable, name: string, rows: Row[], extra = "", task = "resources: {cores: 1, memoryMB: 100, diskMB: 10}"): LiveCampaign {
  const spec = parseCampaign({
    sourceName: `${name}.yaml`,
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    work: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: out}}, ${task}}
data: {scope: hsc}
output: {scope: out, run: ${name}}
${extra}`,
  });
  const record: CampaignRecord = { name, state: "RUNNING", priority: 100, share: 1, createdMs: t.campaigns.size, finishedMs: 0, specJson: "", tasks: ["work"], expanded: ["work"], expansionError: "", generation: "" };
  const c = t.addCampaign(record, spec);
  const dids: string[] = [];
  const rses: string[][] = [];
  const fileStart = [0];
  const fileRows: number[] = [];
  const upStart = [0];
  const upRows: number[] = [];
  for (const r of rows) {
    for (const [did, where] of r.files ?? []) {
      if (!dids.includes(did)) {
        dids.push(did);
        rses.push(where);
      }
      fileRows.push(dids.indexOf(did));
    }
    fileStart.push(fileRows.length);
    upRows.push(...(r.upstream ?? []));
    upStart.push(upRows.length);
  }
  t.appendRows(c, {
    ranges: [{ task: "work", start: 0, count: rows.length }],
    count: rows.length,
    upstream: { start: Int32Array.from(upStart), rows: Int32Array.from(upRows) },
    identities: new Uint8Array(rows.length * IDENTITY_BYTES),
    inputs: { dids, bytes: Float64Array.from(dids.map(() => 1e6)), links: { start: Int32Array.from(fileStart), rows: Int32Array.from(fileRows) }, rses },
  });
  setFirstStates(c.rows, 0);
  t.addRows(c, 0);
  return c;
}

function table(): CampaignTable {
  const t = new CampaignTable(undefined, () => NOW);
  for (const s of ["site-a", "site-b", "site-c"]) t.replicas.setRseSite(`${s}-disk`, s);
  return t;
}

/** `n` rows, each reading its own raw at site-a only. */
const atA = (n: number, prefix = "r"): Row[] => Array.from({ length: n }, (_, i) => ({ files: [[`hsc:${prefix}${i}`, ["site-a-disk"]]] }));

function site(name: string, s: Partial<PrestageSite> = {}): PrestageSite {
  return { site: name, agents: 1, cores: 2, freeCores: 0, maxCores: 2, maxMemoryMB: 1000, nonSpot: true, rse: `${name}-disk`, ...s };
}

/** site-a: busy; site-b: 2 free cores. */
const busyA = site("site-a");
const idleB = site("site-b", { freeCores: 2 });

const rowsOf = (picks: { row: number }[]) => picks.map((p) => p.row);
const didsOf = (t: CampaignTable, picks: { files: number[] }[]) => picks.flatMap((p) => p.files.map((f) => t.replicas.did(f)));

describe("pre-staging: which quanta, which site", () => {
  it("stages quanta waiting at a busy site to the idle site, critical path first, up to cores × quantaPerCore", () => {
    const t = table();
    // Row 5 leads a chain (row 6 reads its outputs): it goes first.
    const c = addCampaign(t, "p1", [...atA(6), { upstream: [5] }]);
    const picks = planPrestage(t, [busyA, idleB], new PrestageLedger(), OPTS, NOW);
    expect(rowsOf(picks)).toEqual([5, 0, 1, 2]);
    expect(new Set(picks.map((p) => p.site))).toEqual(new Set([t.replicas.site("site-b")]));
    expect(didsOf(t, picks)).toEqual(["hsc:r5", "hsc:r0", "hsc:r1", "hsc:r2"]);
    expect(picks.every((p) => p.c === c)).toBe(true);
  });

  it("passes over the quanta the busy site's own free slots take next", () => {
    const t = table();
    addCampaign(t, "p2", atA(6));
    expect(rowsOf(planPrestage(t, [site("site-a", { freeCores: 2 }), idleB], new PrestageLedger(), OPTS, NOW))).toEqual([2, 3, 4, 5]);
  });

  it("stages nothing when no site is short of slots, none is idle, or the data is at the idle site already", () => {
    const t = table();
    addCampaign(t, "p3", atA(3));
    const ledger = new PrestageLedger();
    expect(planPrestage(t, [site("site-a", { freeCores: 4 }), idleB], ledger, OPTS, NOW)).toEqual([]);
    expect(planPrestage(t, [busyA, site("site-b")], ledger, OPTS, NOW)).toEqual([]);
    expect(planPrestage(t, [busyA], ledger, OPTS, NOW)).toEqual([]);
    expect(planPrestage(t, [busyA, site("site-b", { freeCores: 2, agents: 0 })], ledger, OPTS, NOW)).toEqual([]);
    const u = table();
    addCampaign(u, "p4", [0, 1, 2].map((i) => ({ files: [[`hsc:both${i}`, ["site-a-disk", "site-b-disk"]]] })));
    expect(planPrestage(u, [busyA, idleB], ledger, OPTS, NOW)).toEqual([]);
  });

  it("copies only the files the idle site lacks, and a shared file once", () => {
    const t = table();
    const rows: Row[] = [0, 1, 2].map((i) => ({ files: [[`hsc:raw${i}`, ["site-a-disk"]], ["hsc:bias", ["site-a-disk"]], [`hsc:flat${i}`, ["site-b-disk"]]] }));
    addCampaign(t, "p5", rows);
    const picks = planPrestage(t, [busyA, idleB], new PrestageLedger(), OPTS, NOW);
    expect(rowsOf(picks)).toEqual([0, 1, 2]);
    expect(didsOf(t, picks)).toEqual(["hsc:raw0", "hsc:bias", "hsc:raw1", "hsc:raw2"]);
  });

  it("leaves quanta whose data also sits at a site with free slots, and quanta reading upstream outputs", () => {
    const t = table();
    const c = addCampaign(t, "p6", [{ files: [["hsc:x", ["site-a-disk", "site-c-disk"]]] }, ...atA(1), { upstream: [1] }]);
    expect(rowsOf(planPrestage(t, [busyA, idleB, site("site-c", { freeCores: 1, rse: undefined })], new PrestageLedger(), OPTS, NOW))).toEqual([1]);
    // Row 2 reads what row 1 made at site-a: its file is not in the replica index by name.
    t.transition(c, 1, "leased");
    c.rows.locality.setProduced(1, t.replicas.site("site-a")!, 1e6);
    t.transition(c, 1, "succeeded");
    t.transition(c, 2, "inputs_ready");
    expect(c.ready.has(2)).toBe(true);
    expect(planPrestage(t, [busyA, idleB], new PrestageLedger(), OPTS, NOW)).toEqual([]);
  });
});

describe("pre-staging: bounds", () => {
  it("caps quanta and files per pass", () => {
    const t = table();
    addCampaign(t, "b1", atA(20));
    const wide = site("site-b", { freeCores: 8, cores: 8 });
    expect(planPrestage(t, [busyA, wide], new PrestageLedger(), { ...OPTS, maxQuantaPerPass: 3 }, NOW)).toHaveLength(3);
    expect(planPrestage(t, [busyA, wide], new PrestageLedger(), { ...OPTS, maxFilesPerPass: 5 }, NOW)).toHaveLength(5);
    expect(planPrestage(t, [busyA, wide], new PrestageLedger(), OPTS, NOW)).toHaveLength(16);
  });

  it("counts staged quanta against the site until their files land, then the local ones", () => {
    const t = table();
    const c = addCampaign(t, "b2", atA(12));
    const ledger = new PrestageLedger();
    const first = prestageTurn(t, [busyA, idleB], ledger, OPTS, NOW);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ site: "site-b", rse: "site-b-disk", quanta: ["b2.work.1", "b2.work.2", "b2.work.3", "b2.work.4"] });
    expect(ledger.inFlight(t.replicas.site("site-b")!)).toBe(4);
    expect(prestageTurn(t, [busyA, idleB], ledger, OPTS, NOW + 2000)).toEqual([]);
    // Two copies land: those quanta are local to site-b now, and still count until site-b runs them.
    const landed = ["hsc:r0", "hsc:r1"].map((d) => t.replicas.lookup(d)!);
    for (const f of landed) t.replicas.setReplica(f, "site-b-disk", true);
    c.ready.replicasChanged(landed);
    expect(prestageTurn(t, [busyA, idleB], ledger, OPTS, NOW + 4000)).toEqual([]);
    expect(ledger.inFlight(t.replicas.site("site-b")!)).toBe(2);
    t.transition(c, 0, "leased");
    t.transition(c, 1, "leased");
    expect(prestageTurn(t, [busyA, idleB], ledger, OPTS, NOW + 6000).flatMap((o) => o.quanta)).toEqual(["b2.work.5", "b2.work.6"]);
  });

  it("does not ask again for files asked for, even once their quanta stop counting; a failure is asked again later", () => {
    const t = table();
    addCampaign(t, "b3", atA(4));
    const ledger = new PrestageLedger();
    const first = prestageTurn(t, [busyA, idleB], ledger, { ...OPTS, quantaPerCore: 1 }, NOW);
    expect(first.flatMap((o) => o.quanta)).toEqual(["b3.work.1", "b3.work.2"]);
    // No transfer came within the timeout: the budget frees, the next quanta go; the first are not asked for again.
    const later = prestageTurn(t, [busyA, idleB], ledger, { ...OPTS, quantaPerCore: 1 }, NOW + OPTS.stagedTimeoutMs);
    expect(later.flatMap((o) => o.quanta)).toEqual(["b3.work.3", "b3.work.4"]);
    const b = t.replicas.site("site-b")!;
    ledger.markFailed(b, later[0]!.files[0]!.file, NOW + OPTS.stagedTimeoutMs + 60_000);
    expect(prestageTurn(t, [busyA, idleB], ledger, { ...OPTS, quantaPerCore: 1 }, NOW + OPTS.stagedTimeoutMs + 1000)).toEqual([]);
    expect(ledger.inFlight(b)).toBe(1);
    const retried = prestageTurn(t, [busyA, idleB], ledger, { ...OPTS, quantaPerCore: 1 }, NOW + OPTS.stagedTimeoutMs + 60_000);
    expect(retried.flatMap((o) => o.files.map((f) => f.did))).toEqual(["hsc:r2"]);
  });
});

describe("pre-staging: campaign constraints", () => {
  it("only to sites the campaign may use, only for running campaigns that did not turn it off", () => {
    const t = table();
    const allowedA = addCampaign(t, "k1", atA(2, "k1-"), "sites: {allow: [site-a, site-c]}");
    const off = addCampaign(t, "k2", atA(2, "k2-"), "prestage: false");
    const paused = addCampaign(t, "k3", atA(2, "k3-"));
    paused.state = "PAUSED";
    const on = addCampaign(t, "k4", atA(2, "k4-"));
    const picks = planPrestage(t, [busyA, idleB], new PrestageLedger(), OPTS, NOW);
    expect(picks.map((p) => p.c.name)).toEqual(["k4", "k4"]);
    expect([allowedA, off, on].map((c) => c.ready.size)).toEqual([2, 2, 2]);
  });

  it("only to a site whose agents can run the quantum and that has an RSE", () => {
    const t = table();
    addCampaign(t, "k5", atA(2), "", "resources: {cores: 4, memoryMB: 100, diskMB: 10}");
    expect(planPrestage(t, [busyA, site("site-b", { freeCores: 2, maxCores: 2 })], new PrestageLedger(), OPTS, NOW)).toEqual([]);
    const u = table();
    addCampaign(u, "k6", atA(2), "", "resources: {cores: 1, memoryMB: 100, diskMB: 10}, preemptible: false");
    expect(planPrestage(u, [busyA, site("site-b", { freeCores: 2, nonSpot: false })], new PrestageLedger(), OPTS, NOW)).toEqual([]);
    expect(planPrestage(u, [busyA, site("site-b", { freeCores: 2, rse: undefined })], new PrestageLedger(), OPTS, NOW)).toEqual([]);
    expect(planPrestage(u, [busyA, idleB], new PrestageLedger(), OPTS, NOW)).toHaveLength(2);
  });
});
