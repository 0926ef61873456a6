import { describe, expect, it } from "vitest";
import type { OrreryError } from "../../common/errors.js";
import { ErrorCode } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, taskMemoryOf } from "./campaign-table.js";
import { cancelCampaign, type ControlContext } from "./campaign-control.js";
import type { CampaignState } from "./campaign-state.js";
import type { TicketRecord } from "./model.js";
import { QuantumRows, type RowBatch } from "./quantum-rows.js";
import type { QuantumState } from "./quantum-state.js";
import { retryCampaign } from "./retry.js";
import { closeTicket, listTickets, openTicket, tailLines } from "./tickets.js";
import { selectQuanta } from "./scheduler.js";

const spec = parseCampaign({
  sourceName: "c.yaml",
  specYaml: `apiVersion: orrery/v1
kind: Campaign
name: rt
pipeline:
  tasks:
    a: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: aOut}}, resources: {memoryMB: 512}}
    b: {command: [b], dimensions: [n], inputs: {i: {datasetType: aOut}}, outputs: {o: {datasetType: bOut}}}
    c: {command: [c], dimensions: [n], inputs: {i: {datasetType: bOut}}, outputs: {o: {datasetType: cOut}}}
data: {scope: hsc}
output: {scope: out, run: rt}
`,
});

/**
 * rt.a.1, rt.a.2 (rows 0, 1); rt.b.1 ← a.1 and rt.b.2 ← a.1 + a.2 (rows 2, 3); rt.c.1 ← b.1 (row 4).
 * Both a's FAILED (budgets spent, memory raised), everything downstream BLOCKED.
 */
function setup(state: CampaignState = "FAILED", states: QuantumState[] = ["FAILED", "FAILED", "BLOCKED", "BLOCKED", "BLOCKED"]) {
  const batch: RowBatch = {
    ranges: [
      { task: "a", start: 0, count: 2 },
      { task: "b", start: 2, count: 2 },
      { task: "c", start: 4, count: 1 },
    ],
    count: 5,
    upstream: { start: Int32Array.of(0, 0, 0, 1, 3, 4), rows: Int32Array.of(0, 0, 1, 2) },
    identities: new Uint8Array(5 * IDENTITY_BYTES),
  };
  const table = new CampaignTable();
  const rows = new QuantumRows("rt", taskMemoryOf(spec));
  rows.append(batch);
  states.forEach((s, row) => {
    const failed = s === "FAILED";
    rows.restore(row, { state: s, attempts: [], failures: failed ? 2 : 0, kills: failed ? 1 : 0, infraErrors: failed ? 3 : 0, memoryMB: failed ? 2048 : 1024, readyAtMs: failed ? 9e12 : 0, produced: [] });
  });
  const c = table.addCampaign({ name: "rt", state, priority: 100, share: 1, createdMs: 1, finishedMs: state === "FAILED" ? 5 : 0, specJson: "", tasks: ["a", "b", "c"], expanded: ["a", "b", "c"], expansionError: "", generation: "g1" }, spec, rows);
  table.addRows(c, 0);
  const touched = { rows: new Set<number>(), campaigns: new Set<string>(), tickets: [] as [string, TicketRecord][] };
  const ctx: ControlContext = {
    table,
    log: createLogger("test").child({}, { level: "silent" }),
    journal: {
      touch: (_c, row) => touched.rows.add(row),
      touchCampaign: (name) => touched.campaigns.add(name),
      ticketOpened: (t) => touched.tickets.push(["opened", t]),
      ticketClosed: (t) => touched.tickets.push(["closed", t]),
      afterPersist: () => undefined,
    },
  };
  return { ctx, c, touched };
}

const states = (c: ReturnType<typeof setup>["c"]) => Array.from({ length: c.rows.length }, (_, r) => c.rows.state(r));
const slot = { id: "agent-1", site: "site-a", kind: "static", freeCores: 8, freeMemoryMB: 8000, freeDiskMB: 100_000 };

function refusal(fn: () => unknown): OrreryError {
  try {
    fn();
  } catch (err) {
    return err as OrreryError;
  }
  throw new Error("not refused");
}

describe("operator retry", () => {
  it("puts every FAILED quantum back to READY with fresh budgets and its BLOCKED downstream back to PENDING; the FAILED campaign runs again", () => {
    const { ctx, c, touched } = setup();
    expect(c.failures).toBe(4);
    const r = retryCampaign(ctx, "rt");
    expect(r).toEqual({ campaign: "rt", requeued: 2, unblocked: 3, state: "RUNNING" });
    expect(states(c)).toEqual(["READY", "READY", "PENDING", "PENDING", "PENDING"]);
    for (const row of [0, 1]) expect(c.rows.progress(row)).toMatchObject({ failures: 0, kills: 0, infraErrors: 0, memoryMB: 512, readyAtMs: 0 });
    expect(c.counts).toMatchObject({ READY: 2, PENDING: 3, FAILED: 0, BLOCKED: 0 });
    expect([c.failures, c.kills]).toEqual([0, 0]);
    expect(c.finishedMs).toBe(0);
    expect([...touched.rows].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(touched.campaigns.has("rt")).toBe(true);
    // The requeued quanta are offered to agents at once (no back-off left).
    expect(selectQuanta(ctx.table, slot, Date.now()).map((p) => p.row).sort()).toEqual([0, 1]);
  });

  it("--quantum requeues only that one; a downstream quantum with another FAILED maker stays BLOCKED", () => {
    const { ctx, c } = setup();
    const r = retryCampaign(ctx, "rt", "rt.a.1");
    expect(r).toMatchObject({ requeued: 1, unblocked: 2, state: "RUNNING" });
    // b.2 also reads a.2, still FAILED.
    expect(states(c)).toEqual(["READY", "FAILED", "PENDING", "BLOCKED", "PENDING"]);
    expect(c.rows.failures(1)).toBe(2);
    expect(c.failures).toBe(2);
  });

  it("a BLOCKED quantum whose makers all succeeded already becomes READY", () => {
    const { ctx, c } = setup("FAILED", ["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED", "BLOCKED"]);
    expect(retryCampaign(ctx, "rt")).toMatchObject({ requeued: 1, unblocked: 1 });
    expect(states(c)).toEqual(["SUCCEEDED", "SUCCEEDED", "READY", "SUCCEEDED", "PENDING"]);
  });

  it("refuses a quantum that is not FAILED naming its state, and one the campaign does not have; nothing changes", () => {
    const { ctx, c, touched } = setup();
    const blocked = refusal(() => retryCampaign(ctx, "rt", "rt.b.1"));
    expect(blocked.code).toBe(ErrorCode.ILLEGAL_TRANSITION);
    expect(blocked.message).toBe("quantum rt.b.1 is BLOCKED; only FAILED quanta can be retried");
    const unknown = refusal(() => retryCampaign(ctx, "rt", "rt.a.9"));
    expect(unknown.code).toBe(ErrorCode.NOT_FOUND);
    expect(unknown.message).toContain("rt.a.9");
    expect(refusal(() => retryCampaign(ctx, "nope")).code).toBe(ErrorCode.NOT_FOUND);
    expect(states(c)).toEqual(["FAILED", "FAILED", "BLOCKED", "BLOCKED", "BLOCKED"]);
    expect(c.state).toBe("FAILED");
    expect(touched.rows.size + touched.campaigns.size).toBe(0);
  });

  it("refuses a CANCELLED campaign; a PAUSED one stays paused with its quanta READY; nothing FAILED requeues nothing", () => {
    const cancelled = setup("CANCELLED", ["CANCELLED", "SUCCEEDED", "CANCELLED", "CANCELLED", "CANCELLED"]);
    const e = refusal(() => retryCampaign(cancelled.ctx, "rt"));
    expect(e.code).toBe(ErrorCode.ILLEGAL_TRANSITION);
    expect(e.message).toBe("campaign rt is CANCELLED; only RUNNING, PAUSED, SUCCEEDED or FAILED campaigns can be retried");
    expect(e.hint).toContain("submit its file again");

    const paused = setup("PAUSED");
    expect(retryCampaign(paused.ctx, "rt")).toMatchObject({ requeued: 2, state: "PAUSED" });
    expect(paused.c.counts.READY).toBe(2);
    expect(selectQuanta(paused.ctx.table, slot, Date.now())).toHaveLength(0);

    const done = setup("SUCCEEDED", ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    expect(retryCampaign(done.ctx, "rt")).toEqual({ campaign: "rt", requeued: 0, unblocked: 0, state: "SUCCEEDED" });
    expect(done.touched.rows.size + done.touched.campaigns.size).toBe(0);
  });
});

describe("tickets", () => {
  const failed = (attempt: number, stderr: string) => ({ attempt, outcome: "payload_error", exitCode: 3, message: "exit code 3", stderr, reason: "2 failure(s), budget 1" });

  it("keep the last 20 lines of stderr", () => {
    const text = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join("\n") + "\n\n";
    const tail = tailLines(text);
    expect(tail.split("\n")).toHaveLength(20);
    expect(tail.startsWith("line 11\n")).toBe(true);
    expect(tail.endsWith("line 30")).toBe(true);
    expect(tailLines("x".repeat(10_000)).length).toBe(4000);
  });

  it("open when a quantum fails, stay open (and up to date) across a retry that fails again, close when it succeeds", () => {
    const { ctx, c, touched } = setup();
    const first = openTicket(ctx.journal, c, 0, failed(2, "boom\n"), 1000);
    expect(first).toMatchObject({ quantum: "rt.a.1", campaign: "rt", generation: "g1", task: "a", state: "open", outcome: "payload_error", exitCode: 3, stderrTail: "boom", attempt: 2, openedMs: 1000, closedMs: 0 });
    const again = openTicket(ctx.journal, c, 0, failed(4, "bang"), 2000);
    expect(again).toMatchObject({ attempt: 4, stderrTail: "bang", openedMs: 1000 });
    expect(listTickets([c], { open: true }).map((t) => [t.quantum, t.quantumState])).toEqual([["rt.a.1", "FAILED"]]);
    const closed = closeTicket(ctx.journal, c, 0, 3000);
    expect(closed).toMatchObject({ state: "closed", closedMs: 3000, openedMs: 1000 });
    // A quantum with no open ticket closes nothing.
    expect(closeTicket(ctx.journal, c, 0, 4000)).toBeUndefined();
    expect(closeTicket(ctx.journal, c, 1, 4000)).toBeUndefined();
    expect(touched.tickets.map(([change, t]) => [change, t.attempt])).toEqual([["opened", 2], ["opened", 4], ["closed", 4]]);
    expect(listTickets([c], { open: true })).toEqual([]);
    expect(listTickets([c], {})).toHaveLength(1);
    expect(listTickets([c], { campaign: "other" })).toEqual([]);
  });

  it("a cancel closes the ticket of a retried quantum that had not succeeded yet", () => {
    const { ctx, c } = setup();
    openTicket(ctx.journal, c, 0, failed(2, "boom"), 1000);
    retryCampaign(ctx, "rt", "rt.a.1");
    expect(listTickets([c], { open: true }).map((t) => [t.quantum, t.quantumState])).toEqual([["rt.a.1", "READY"]]);
    cancelCampaign(ctx, "rt", 5000);
    expect(listTickets([c], {}).map((t) => [t.quantum, t.state, t.closedMs, t.quantumState])).toEqual([["rt.a.1", "closed", 5000, "CANCELLED"]]);
  });

  it("a campaign keeps only its own generation's tickets", () => {
    const table = new CampaignTable();
    const ticket = (generation: string): TicketRecord => ({ quantum: "rt.a.1", campaign: "rt", generation, task: "a", state: "open", outcome: "timeout", exitCode: -1, message: "", stderrTail: "", attempt: 1, reason: "", openedMs: 1, closedMs: 0 });
    const c = table.addCampaign({ name: "rt", state: "FAILED", priority: 1, share: 1, createdMs: 1, finishedMs: 1, specJson: "", tasks: [], expanded: [], expansionError: "", generation: "g2" }, spec, undefined, [ticket("g1")]);
    expect(c.tickets.size).toBe(0);
    const d = table.addCampaign({ name: "rt", state: "FAILED", priority: 1, share: 1, createdMs: 1, finishedMs: 1, specJson: "", tasks: [], expanded: [], expansionError: "", generation: "g1" }, spec, undefined, [ticket("g1")]);
    expect(d.tickets.size).toBe(1);
  });
});
