import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { AttemptOutcome, NodeKind, QuantumState } from "../gen/orrery/v1/common_pb.js";
import { campaignStates, quantumStates } from "../common/wire-enums.js";
import {
  AgentInfoSchema,
  CampaignStatusSchema,
  NodeKindAttemptsSchema,
  QuantumInfoSchema,
  type CampaignStatus,
} from "../gen/orrery/v1/coordinator_pb.js";
import {
  agentToJson,
  campaignStatusToJson,
  finalLine,
  formatBytes,
  formatQuantumDataId,
  lastAttempt,
  progressLine,
  quantumToJson,
} from "./status-view.js";

const counts = (o: Record<string, number>) => Object.entries(o).map(([state, count]) => ({ state: quantumStates.value(state)!, count }));

function miniDrp(state: string, tasks: Record<string, Record<string, number>>): CampaignStatus {
  const all: Record<string, number> = {};
  for (const c of Object.values(tasks)) for (const [s, n] of Object.entries(c)) all[s] = (all[s] ?? 0) + n;
  return create(CampaignStatusSchema, {
    campaign: "mini-drp",
    state: campaignStates.value(state)!,
    priority: 100,
    share: 1,
    counts: counts(all),
    tasks: Object.entries(tasks).map(([task, c]) => ({ task, counts: counts(c) })),
    failures: 2,
    kills: 1,
    createdMs: 1_700_000_000_000n,
  });
}

describe("campaign status JSON", () => {
  it("gives each node kind's attempts, pre-emption rate and lost CPU", () => {
    const status = miniDrp("RUNNING", { isr: { SUCCEEDED: 8 } });
    status.nodeKinds = [create(NodeKindAttemptsSchema, { kind: "spot", attempts: 8, preempted: 2, lost: 1, cpuSeconds: 12.5, wallSeconds: 40, lostCpuSeconds: 3.25, lostWallSeconds: 9 })];
    expect(campaignStatusToJson(status).nodeKinds).toEqual({
      spot: { attempts: 8, preempted: 2, lost: 1, preemptionRate: 0.25, cpuSeconds: 12.5, wallSeconds: 40, lostCpuSeconds: 3.25, lostWallSeconds: 9 },
    });
  });

  it("has the contract's shape with counts as objects and every state present", () => {
    const json = campaignStatusToJson(
      miniDrp("RUNNING", { isr: { SUCCEEDED: 8 }, calibrate: { SUCCEEDED: 4, RUNNING: 2, READY: 2 }, coadd: { PENDING: 4 } }),
    );
    expect(Object.keys(json).sort()).toEqual(["campaign", "counts", "failures", "kills", "nodeKinds", "priority", "share", "state", "tasks", "unschedulable"]);
    expect(json).toMatchObject({ campaign: "mini-drp", state: "RUNNING", priority: 100, share: 1, failures: 2, kills: 1 });
    expect(json.counts).toEqual({
      PENDING: 4,
      READY: 2,
      RUNNING: 2,
      SUCCEEDED: 12,
      FAILED: 0,
      BLOCKED: 0,
      CANCELLED: 0,
      SKIPPED: 0,
    });
    expect(Object.keys(json.tasks)).toEqual(["isr", "calibrate", "coadd"]);
    expect(json.tasks["calibrate"]).toMatchObject({ SUCCEEDED: 4, RUNNING: 2, READY: 2, FAILED: 0 });
    // Serializable as is: no bigint leaks into the JSON.
    expect(() => JSON.stringify(json)).not.toThrow();
  });
});

describe("progress and final lines", () => {
  it("shows done/total for the campaign and each task", () => {
    const json = campaignStatusToJson(
      miniDrp("RUNNING", { isr: { SUCCEEDED: 8 }, calibrate: { SUCCEEDED: 4, RUNNING: 4 }, coadd: { PENDING: 4 } }),
    );
    expect(progressLine(json)).toBe("mini-drp  RUNNING  12/20 done  (isr 8/8, calibrate 4/8, coadd 0/4)");
  });

  it("counts SKIPPED as done and calls out failed and blocked quanta", () => {
    const json = campaignStatusToJson(
      miniDrp("RUNNING", { isr: { SKIPPED: 6, FAILED: 2 }, coadd: { BLOCKED: 1, PENDING: 1 } }),
    );
    expect(progressLine(json)).toBe("mini-drp  RUNNING  6/10 done  2 FAILED  1 BLOCKED  (isr 6/8, coadd 0/2)");
  });

  it("ends with the final state and the non-zero counts in lifecycle order", () => {
    expect(finalLine(campaignStatusToJson(miniDrp("SUCCEEDED", { isr: { SUCCEEDED: 8 }, coadd: { SUCCEEDED: 12 } })))).toBe(
      "mini-drp: SUCCEEDED (20 quanta: 20 SUCCEEDED)",
    );
    expect(finalLine(campaignStatusToJson(miniDrp("FAILED", { isr: { SUCCEEDED: 7, FAILED: 1 }, coadd: { BLOCKED: 4 } })))).toBe(
      "mini-drp: FAILED (12 quanta: 7 SUCCEEDED, 1 FAILED, 4 BLOCKED)",
    );
  });
});

describe("quanta", () => {
  const quantum = create(QuantumInfoSchema, {
    id: "q-1f3a",
    task: "isr",
    dataId: JSON.stringify({ instrument: "HSC", exposure: 903334, detector: 16 }),
    state: QuantumState.SUCCEEDED,
    inputs: ["hsc:raw_903334_16.fits", "hsc:bias_16.fits"],
    outputs: ["hsc-drp:postISRCCD_903334_16.fits"],
    attempts: [
      { number: 1, agent: "agent-1", site: "site-a", outcome: AttemptOutcome.PREEMPTED, exitCode: -1, startMs: 1_772_337_906_000n, endMs: 1_772_337_910_500n, message: "preempted: SIGTERM" },
      { number: 2, agent: "agent-3", site: "site-b", outcome: AttemptOutcome.SUCCEEDED, exitCode: 0, startMs: 1_772_337_911_000n, endMs: 0n },
    ],
  });

  it("formats the data id as k=v pairs", () => {
    expect(formatQuantumDataId(quantum)).toBe("detector=16,exposure=903334,instrument=HSC");
  });

  it("converts to the contract's JSON with the data id as an object and ISO times", () => {
    const json = quantumToJson(quantum);
    expect(json).toEqual({
      id: "q-1f3a",
      task: "isr",
      dataId: { instrument: "HSC", exposure: 903334, detector: 16 },
      state: "SUCCEEDED",
      inputs: ["hsc:raw_903334_16.fits", "hsc:bias_16.fits"],
      outputs: ["hsc-drp:postISRCCD_903334_16.fits"],
      attempts: [
        { agent: "agent-1", site: "site-a", outcome: "preempted", exitCode: -1, start: "2026-03-01T04:05:06.000Z", end: "2026-03-01T04:05:10.500Z", message: "preempted: SIGTERM" },
        { agent: "agent-3", site: "site-b", outcome: "succeeded", exitCode: 0, start: "2026-03-01T04:05:11.000Z", end: null, message: "" },
      ],
    });
  });

  it("names the last attempt's outcome and agent", () => {
    expect(lastAttempt(quantum)).toBe("succeeded on agent-3");
    const failed = create(QuantumInfoSchema, { attempts: [{ agent: "agent-2", outcome: AttemptOutcome.PAYLOAD_ERROR, exitCode: 3 }] });
    expect(lastAttempt(failed)).toBe("payload_error (exit 3) on agent-2");
    expect(lastAttempt(create(QuantumInfoSchema, {}))).toBe("-");
  });

  it("tolerates a malformed data id", () => {
    expect(quantumToJson(create(QuantumInfoSchema, { id: "q", dataId: "{not json" })).dataId).toEqual({});
  });
});

describe("agents", () => {
  it("converts to the contract's JSON with cache bytes as a number", () => {
    const agent = create(AgentInfoSchema, { id: "a-1", site: "site-a", kind: NodeKind.SPOT, cores: 4, freeCores: 1, running: 3, cacheBytes: 12_345_678n });
    expect(agentToJson(agent)).toEqual({ id: "a-1", site: "site-a", kind: "spot", cores: 4, freeCores: 1, running: 3, cacheBytes: 12_345_678 });
    expect(formatBytes(12_345_678)).toBe("12.3 MB");
    expect(formatBytes(0)).toBe("0 B");
  });
});
