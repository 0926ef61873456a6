import { describe, expect, it } from "vitest";
import { ErrorCode } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, emptyCounts, taskMemoryOf } from "./campaign-table.js";
import { cancelCampaign, pauseCampaign, resumeCampaign, setCampaignPriority, type ControlContext } from "./campaign-control.js";
import type { CampaignState } from "./campaign-state.js";
import { QuantumRows, type RowBatch } from "./quantum-rows.js";
import type { QuantumState } from "./quantum-state.js";
import { selectQuanta } from "./scheduler.js";

const spec = parseCampaign({
  sourceName: "c.yaml",
  specYaml: `apiVersion: orrery/v1
kind: Campaign
name: ctl
pipeline:
  tasks:
    isr: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: postISRCCD}}}
data: {scope: hsc}
output: {scope: out, run: ctl}
`,
});

function batch(count: number): RowBatch {
  return { ranges: [{ task: "isr", start: 0, count }], count, upstream: { start: new Int32Array(count + 1), rows: new Int32Array(0) }, identities: new Uint8Array(count * IDENTITY_BYTES) };
}

/** ctl.isr.1..5: READY, RUNNING (leased to agent-1), SUCCEEDED, FAILED, READY; a journal that records what it is told. */
function setup(state: CampaignState = "RUNNING", states: QuantumState[] = ["READY", "RUNNING", "SUCCEEDED", "FAILED", "READY"]) {
  const table = new CampaignTable();
  const rows = new QuantumRows("ctl", taskMemoryOf(spec));
  rows.append(batch(states.length));
  states.forEach((s, row) => {
    const running = s === "RUNNING";
    const attempts = running ? [{ number: 1, agent: "agent-1", site: "site-a", leaseId: `ctl.isr.${row + 1}#1`, outcome: "", exitCode: 0, message: "", startMs: 1, endMs: 0 }] : [];
    rows.restore(row, { state: s, attempts, failures: 0, kills: 0, infraErrors: 0, memoryMB: 512, readyAtMs: 0, produced: [], ...(running ? { lease: { id: `ctl.isr.${row + 1}#1`, agent: "agent-1", deadlineMs: 9e15 } } : {}) });
  });
  const c = table.addCampaign({ name: "ctl", state, priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "", tasks: ["isr"], expanded: ["isr"], expansionError: "", generation: "" }, spec, rows);
  table.addRows(c, 0);
  const touched = { rows: new Set<number>(), campaigns: new Set<string>() };
  const ctx: ControlContext = {
    table,
    log: createLogger("test").child({}, { level: "silent" }),
    journal: { touch: (_c, row) => touched.rows.add(row), touchCampaign: (name) => touched.campaigns.add(name), ticketOpened: () => {}, ticketClosed: () => {}, afterPersist: () => undefined },
  };
  return { ctx, c, touched };
}

const slot = { id: "agent-2", site: "site-a", kind: "static", freeCores: 8, freeMemoryMB: 8000, freeDiskMB: 100_000 };

describe("campaign control", () => {
  it("pause: the scheduler hands out nothing of a paused campaign; resume makes it schedulable again", () => {
    const { ctx, c, touched } = setup();
    expect(selectQuanta(ctx.table, slot, Date.now())).toHaveLength(2);
    expect(pauseCampaign(ctx, "ctl").state).toBe("PAUSED");
    expect(touched.campaigns.has("ctl")).toBe(true);
    expect(selectQuanta(ctx.table, slot, Date.now())).toHaveLength(0);
    // The quanta keep their states: the running one may finish.
    expect(c.counts).toMatchObject({ READY: 2, RUNNING: 1 });
    expect(pauseCampaign(ctx, "ctl").state).toBe("PAUSED");
    expect(resumeCampaign(ctx, "ctl").state).toBe("RUNNING");
    expect(selectQuanta(ctx.table, slot, Date.now())).toHaveLength(2);
  });

  it("resume ends a paused campaign whose quanta all ended meanwhile", () => {
    const { ctx } = setup("PAUSED", ["SUCCEEDED", "SUCCEEDED"]);
    expect(resumeCampaign(ctx, "ctl").state).toBe("SUCCEEDED");
    const failed = setup("PAUSED", ["SUCCEEDED", "FAILED"]);
    const c = resumeCampaign(failed.ctx, "ctl");
    expect(c.state).toBe("FAILED");
    expect(c.finishedMs).toBeGreaterThan(0);
  });

  it("cancel: every quantum not done is CANCELLED, running leases are returned and closed", () => {
    const { ctx, c, touched } = setup();
    const { campaign, leases } = cancelCampaign(ctx, "ctl", 1234);
    expect(campaign.state).toBe("CANCELLED");
    expect(campaign.finishedMs).toBe(1234);
    expect(leases).toEqual([{ leaseId: "ctl.isr.2#1", agent: "agent-1" }]);
    expect(c.counts).toEqual({ ...emptyCounts(), SUCCEEDED: 1, CANCELLED: 4 });
    expect(c.ready.size).toBe(0);
    expect(c.rows.leased.size).toBe(0);
    expect(c.rows.run(1)?.attempts[0]).toMatchObject({ outcome: "cancelled", endMs: 1234 });
    expect([...touched.rows].sort()).toEqual([0, 1, 3, 4]);
    expect(selectQuanta(ctx.table, slot, Date.now())).toHaveLength(0);
    // Cancelling again changes nothing; resuming is refused.
    expect(cancelCampaign(ctx, "ctl", 5678).leases).toEqual([]);
    expect(() => resumeCampaign(ctx, "ctl")).toThrow(expect.objectContaining({ code: ErrorCode.ILLEGAL_TRANSITION }));
  });

  it("refuses to cancel a SUCCEEDED campaign before touching any quantum", () => {
    const { ctx, touched } = setup("SUCCEEDED", ["SUCCEEDED"]);
    expect(() => cancelCampaign(ctx, "ctl", 1)).toThrow("campaign ctl is SUCCEEDED; only RUNNING, PAUSED, FAILED or CANCELLED campaigns can be cancelled");
    expect(touched.rows.size).toBe(0);
  });

  it("priority: a live campaign's changes; out of range or an ended campaign is refused", () => {
    const { ctx, c } = setup();
    expect(setCampaignPriority(ctx, "ctl", 500).priority).toBe(500);
    expect(c.priority).toBe(500);
    for (const bad of [-1, 1001, 2.5]) expect(() => setCampaignPriority(ctx, "ctl", bad)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    const ended = setup("SUCCEEDED", ["SUCCEEDED"]);
    expect(() => setCampaignPriority(ended.ctx, "ctl", 5)).toThrow(expect.objectContaining({ code: ErrorCode.ILLEGAL_TRANSITION }));
    expect(() => setCampaignPriority(ctx, "nope", 5)).toThrow(expect.objectContaining({ code: ErrorCode.NOT_FOUND }));
  });
});
