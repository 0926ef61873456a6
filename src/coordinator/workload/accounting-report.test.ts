// The accounting as the workload changes it: a lost attempt taken back by its
// late result, a cancelled one, and one still running in a report.
import { describe, expect, it } from "vitest";
import { createLogger } from "../../common/logger.js";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, taskMemoryOf } from "./campaign-table.js";
import { cancelCampaign } from "./campaign-control.js";
import { finishAttempt, type AttemptReport, type ResultContext } from "./attempt-results.js";
import { reopenLease } from "./late-result.js";
import { reportOf } from "./accounting-report.js";
import type { ProgressJournal } from "./progress-journal.js";
import { QuantumRows, type RowBatch } from "./quantum-rows.js";

const spec = parseCampaign({
  sourceName: "c.yaml",
  specYaml: `apiVersion: orrery/v1
kind: Campaign
name: acc
pipeline:
  tasks:
    isr: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: postISRCCD}}}
data: {scope: hsc}
output: {scope: out, run: acc}
`,
});

function batch(count: number): RowBatch {
  return { ranges: [{ task: "isr", start: 0, count }], count, upstream: { start: new Int32Array(count + 1), rows: new Int32Array(0) }, identities: new Uint8Array(count * IDENTITY_BYTES) };
}

/** acc.isr.1 and acc.isr.2, both RUNNING at site-a under attempt 1. */
function setup() {
  const table = new CampaignTable();
  table.replicas.setRseSite("A-DISK", "site-a");
  table.replicas.setRseSite("B-DISK", "site-b");
  const rows = new QuantumRows("acc", taskMemoryOf(spec));
  rows.append(batch(2));
  for (const row of [0, 1]) {
    const leaseId = `acc.isr.${row + 1}#1`;
    rows.restore(row, { state: "RUNNING", attempts: [{ number: 1, agent: "agent-1", site: "site-a", leaseId, outcome: "", exitCode: 0, message: "", startMs: 1000, endMs: 0 }], failures: 0, kills: 0, infraErrors: 0, memoryMB: 512, readyAtMs: 0, produced: [], lease: { id: leaseId, agent: "agent-1", deadlineMs: 9e15 } });
  }
  const c = table.addCampaign({ name: "acc", state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "", tasks: ["isr"], expanded: ["isr"], expansionError: "", generation: "" }, spec, rows);
  table.addRows(c, 0);
  const journal = { touch: () => undefined, touchCampaign: () => undefined, succeeded: () => undefined } as unknown as ProgressJournal;
  const ctx: ResultContext = { table, journal, log: createLogger("test").child({}, { level: "silent" }), onWork: () => undefined, onDone: () => undefined, largestAgentMemoryMB: () => undefined };
  return { table, c, ctx };
}

function result(quantumId: string, outcome: string, endMs: number, provenance?: object): AttemptReport {
  const outputs = outcome === "succeeded" ? [{ role: "o", did: `out:${quantumId}`, rse: "A-DISK", bytes: 40, adler32: "", md5: "" }] : [];
  return { leaseId: `${quantumId}#1`, quantumId, attempt: 1, outcome, exitCode: 0, message: "", startMs: 0, endMs, outputs, stdout: "", stderr: "", provenanceJson: provenance ? JSON.stringify(provenance) : "" };
}

describe("accounting as attempts end", () => {
  it("shows a running attempt, takes back a lost one whose late result came, and counts that result", () => {
    const { c, ctx } = setup();
    let report = reportOf(c);
    expect(report.cells).toEqual([{ task: "isr", site: "site-a", figures: expect.objectContaining({ quanta: 2, outcomes: { running: 2 } }) }]);
    expect(report.distinctQuanta).toBe(2);
    // Running attempts are the report's: the stored figures have none.
    expect(c.accounting.tasks).toEqual({});

    // acc.isr.1's lease expires: lost, then its late result comes after all.
    finishAttempt(ctx, c, 0, result("acc.isr.1", "lost", 61_000));
    expect(c.accounting.tasks["isr"]!["site-a"]).toMatchObject({ quanta: 1, outcomes: { lost: 1 }, wallMs: 60_000 });
    reopenLease(ctx, c, 0, "agent-1", "acc.isr.1#1", 9e15);
    expect(c.accounting.tasks["isr"]!["site-a"]).toMatchObject({ quanta: 0, outcomes: {}, wallMs: 0 });
    expect(c.accounting.quanta).toBe(0);
    const provenance = { cpuSeconds: 2.5, peakRssBytes: 7e6, inputs: [{ source: "A-DISK", bytes: 100 }, { source: "B-DISK", bytes: 30 }, { source: "cache", bytes: 5 }] };
    finishAttempt(ctx, c, 0, result("acc.isr.1", "succeeded", 31_000, provenance));
    expect(c.accounting.tasks["isr"]!["site-a"]).toEqual({ quanta: 1, succeeded: 1, outcomes: { succeeded: 1 }, cpuMs: 2500, wallMs: 30_000, peakRssBytes: 7e6, cacheBytes: 5, ownSiteBytes: 100, otherSiteBytes: 30, outBytes: 40 });

    // acc.isr.2 is still running; the report adds it.
    report = reportOf(c);
    expect(report.totals).toMatchObject({ quanta: 2, succeeded: 1, outcomes: { succeeded: 1, running: 1 }, outBytes: 40 });
    expect(report.distinctQuanta).toBe(2);
  });

  it("counts an attempt a cancel ends as cancelled, with its wall time", () => {
    const { c, ctx } = setup();
    cancelCampaign(ctx, "acc", 11_000);
    expect(c.accounting.tasks["isr"]!["site-a"]).toMatchObject({ quanta: 2, outcomes: { cancelled: 2 }, wallMs: 20_000 });
    expect(reportOf(c).totals.outcomes).toEqual({ cancelled: 2 });
  });
});
