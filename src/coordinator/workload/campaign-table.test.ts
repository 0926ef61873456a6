import { describe, expect, it } from "vitest";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, emptyCounts, taskMemoryOf, type LiveCampaign } from "./campaign-table.js";
import type { CampaignRecord, QuantumProgress } from "./model.js";
import { settleRows } from "./quantum-links.js";
import { QuantumRows, type RowBatch } from "./quantum-rows.js";
import type { QuantumState } from "./quantum-state.js";

const spec = parseCampaign({
  sourceName: "c.yaml",
  specYaml: `apiVersion: orrery/v1
kind: Campaign
name: tab
pipeline:
  tasks:
    isr: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: postISRCCD}}}
    calibrate: {command: [b], dimensions: [n], inputs: {p: {datasetType: postISRCCD}}, outputs: {o: {datasetType: calexp}}}
data: {scope: hsc}
output: {scope: out, run: tab}
`,
});

/** Rows of one task, numbered from `first`; row first+i reads `upstream[i]`. */
function batch(first: number, task: string, count: number, upstream: number[][] = []): RowBatch {
  const start = new Int32Array(count + 1);
  const links: number[] = [];
  for (let i = 0; i < count; i++) {
    links.push(...(upstream[i] ?? []));
    start[i + 1] = links.length;
  }
  return { ranges: [{ task, start: first, count }], count, upstream: { start, rows: Int32Array.from(links) }, identities: new Uint8Array(count * IDENTITY_BYTES) };
}

function progress(state: QuantumState, counters: { failures?: number; kills?: number } = {}): QuantumProgress {
  return { state, attempts: [], failures: counters.failures ?? 0, kills: counters.kills ?? 0, infraErrors: 0, memoryMB: 100, readyAtMs: 0, produced: [] };
}

function record(expanded: string[]): CampaignRecord {
  return { name: "tab", state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "", tasks: ["isr", "calibrate"], expanded, expansionError: "", generation: "" };
}

/** tab.isr.1 READY (1 failure), tab.isr.2 RUNNING (2 kills), tab.calibrate.1 and .2 PENDING on their isr. */
function setup() {
  const t = new CampaignTable();
  const rows = new QuantumRows("tab", taskMemoryOf(spec));
  rows.append(batch(0, "isr", 2));
  rows.append(batch(2, "calibrate", 2, [[0], [1]]));
  rows.restore(0, progress("READY", { failures: 1 }));
  rows.restore(1, progress("RUNNING", { kills: 2 }));
  rows.restore(2, progress("PENDING"));
  rows.restore(3, progress("PENDING"));
  const live = t.addCampaign(record(["isr", "calibrate"]), spec, rows);
  t.addRows(live, 0);
  return { t, live };
}

const readyIds = (live: LiveCampaign) => [...live.ready].map((row) => live.rows.id(row));

describe("CampaignTable", () => {
  it("counts quanta per state, per task, and totals failures and kills as loaded", () => {
    const { live } = setup();
    expect(live.counts).toEqual({ ...emptyCounts(), READY: 1, RUNNING: 1, PENDING: 2 });
    expect(live.taskCounts.get("isr")).toEqual({ ...emptyCounts(), READY: 1, RUNNING: 1 });
    expect(live.taskCounts.get("calibrate")).toEqual({ ...emptyCounts(), PENDING: 2 });
    expect(readyIds(live)).toEqual(["tab.isr.1"]);
    expect([live.failures, live.kills]).toEqual([1, 2]);
    expect(live.taskByName.get("calibrate")?.upstream).toEqual(["isr"]);
  });

  it("finds a quantum by id: its campaign and row; nothing for an unknown campaign, task or number", () => {
    const { t, live } = setup();
    const ref = t.find("tab.calibrate.2")!;
    expect(ref.c).toBe(live);
    expect(ref.row).toBe(3);
    expect(live.rows.id(ref.row)).toBe("tab.calibrate.2");
    expect(t.find("tab.isr.1")?.row).toBe(0);
    for (const id of ["tab.calibrate.3", "tab.isr.0", "tab.coadd.1", "other.isr.1", "tab", ""]) expect(t.find(id), id).toBeUndefined();
  });

  it("keeps counts and the ready set in step with each state change, in the order quanta became ready", () => {
    const { t, live } = setup();
    const row = (id: string) => t.find(id)!.row;
    t.transition(live, row("tab.calibrate.2"), "inputs_ready");
    t.transition(live, row("tab.calibrate.1"), "inputs_ready");
    t.transition(live, row("tab.isr.1"), "leased");
    expect(readyIds(live)).toEqual(["tab.calibrate.2", "tab.calibrate.1"]);
    t.transition(live, row("tab.isr.2"), "succeeded");
    t.transition(live, row("tab.isr.1"), "retry"); // retried: joins the back of the queue
    expect(readyIds(live)).toEqual(["tab.calibrate.2", "tab.calibrate.1", "tab.isr.1"]);
    expect(live.rows.state(row("tab.isr.1"))).toBe("READY");
    expect(live.rows.state(row("tab.isr.2"))).toBe("SUCCEEDED");
    expect(live.counts).toEqual({ ...emptyCounts(), READY: 3, SUCCEEDED: 1 });
    expect(live.taskCounts.get("isr")).toEqual({ ...emptyCounts(), READY: 1, SUCCEEDED: 1 });
    expect(live.taskCounts.get("calibrate")).toEqual({ ...emptyCounts(), READY: 2 });
  });

  it("refuses an illegal transition and leaves the state as it was", () => {
    const { t, live } = setup();
    const c1 = t.find("tab.calibrate.1")!.row;
    expect(() => t.transition(live, c1, "succeeded")).toThrow(/quantum tab\.calibrate\.1: succeeded is not allowed in state PENDING/);
    expect(live.rows.state(c1)).toBe("PENDING");
    expect(live.counts.PENDING).toBe(2);
    expect(live.taskCounts.get("calibrate")?.PENDING).toBe(2);
    expect(live.ready.has(c1)).toBe(false);
  });

  it("adds rows appended later (a deferred expansion) without counting the earlier ones again", () => {
    const t = new CampaignTable();
    const live = t.addCampaign(record(["isr"]), spec);
    expect(live.rows.length).toBe(0);
    expect(live.rows.campaign).toBe("tab");
    live.rows.append(batch(0, "isr", 2));
    live.rows.restore(0, progress("SUCCEEDED", { failures: 1 }));
    live.rows.restore(1, progress("READY"));
    t.addRows(live, 0);
    expect(live.counts).toEqual({ ...emptyCounts(), SUCCEEDED: 1, READY: 1 });

    const first = live.rows.append(batch(2, "calibrate", 2, [[0], [1]]));
    expect(first).toBe(2);
    settleRows(live.rows, first, live.rows.length, new Map());
    t.addRows(live, first);
    // calibrate.1 reads the succeeded isr.1: READY; calibrate.2 waits for isr.2
    expect(live.counts).toEqual({ ...emptyCounts(), SUCCEEDED: 1, READY: 2, PENDING: 1 });
    expect(live.taskCounts.get("isr")).toEqual({ ...emptyCounts(), SUCCEEDED: 1, READY: 1 });
    expect(live.taskCounts.get("calibrate")).toEqual({ ...emptyCounts(), READY: 1, PENDING: 1 });
    expect(readyIds(live)).toEqual(["tab.isr.2", "tab.calibrate.1"]);
    expect([live.failures, live.kills]).toEqual([1, 0]);
    expect(t.find("tab.calibrate.2")).toEqual({ c: live, row: 3 });
  });

  it("forgets a removed campaign's quanta", () => {
    const { t } = setup();
    expect(t.find("tab.isr.1")).toBeDefined();
    t.removeCampaign("tab");
    expect(t.campaigns.size).toBe(0);
    for (const id of ["tab.isr.1", "tab.isr.2", "tab.calibrate.1", "tab.calibrate.2"]) expect(t.find(id)).toBeUndefined();
  });
});
