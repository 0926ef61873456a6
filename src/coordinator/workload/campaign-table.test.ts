import { describe, expect, it } from "vitest";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable, emptyCounts } from "./campaign-table.js";
import type { CampaignRecord, Quantum } from "./model.js";
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

function quantum(id: string, task: string, state: QuantumState, counters: { failures?: number; kills?: number } = {}): Quantum {
  return {
    id,
    campaign: "tab",
    task,
    dataId: {},
    identity: id,
    inputs: [],
    outputs: [],
    upstream: [],
    downstream: [],
    progress: { state, attempts: [], failures: counters.failures ?? 0, kills: counters.kills ?? 0, infraErrors: 0, memoryMB: 100, readyAtMs: 0, produced: [] },
  };
}

function setup() {
  const t = new CampaignTable();
  const record: CampaignRecord = { name: "tab", state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "", quantumIds: ["i1", "i2", "c1", "c2"], tasks: ["isr", "calibrate"], expanded: ["isr", "calibrate"], expansionError: "" };
  const live = t.addCampaign(record, spec);
  t.addQuantum(live, quantum("i1", "isr", "READY", { failures: 1 }));
  t.addQuantum(live, quantum("i2", "isr", "RUNNING", { kills: 2 }));
  t.addQuantum(live, quantum("c1", "calibrate", "PENDING"));
  t.addQuantum(live, quantum("c2", "calibrate", "PENDING"));
  return { t, live };
}

describe("CampaignTable", () => {
  it("counts quanta per state, per task, and totals failures and kills as loaded", () => {
    const { live } = setup();
    expect(live.counts).toEqual({ ...emptyCounts(), READY: 1, RUNNING: 1, PENDING: 2 });
    expect(live.taskCounts.get("isr")).toEqual({ ...emptyCounts(), READY: 1, RUNNING: 1 });
    expect(live.taskCounts.get("calibrate")).toEqual({ ...emptyCounts(), PENDING: 2 });
    expect([...live.ready]).toEqual(["i1"]);
    expect([live.failures, live.kills]).toEqual([1, 2]);
    expect(live.taskByName.get("calibrate")?.upstream).toEqual(["isr"]);
  });

  it("keeps counts and the ready set in step with each state change, in the order quanta became ready", () => {
    const { t, live } = setup();
    const q = (id: string) => t.quanta.get(id)!;
    t.transition(q("c2"), "inputs_ready");
    t.transition(q("c1"), "inputs_ready");
    t.transition(q("i1"), "leased");
    expect([...live.ready]).toEqual(["c2", "c1"]);
    t.transition(q("i2"), "succeeded");
    t.transition(q("i1"), "retry"); // retried: joins the back of the queue
    expect([...live.ready]).toEqual(["c2", "c1", "i1"]);
    expect(q("i1").progress.state).toBe("READY");
    expect(live.counts).toEqual({ ...emptyCounts(), READY: 3, SUCCEEDED: 1 });
    expect(live.taskCounts.get("isr")).toEqual({ ...emptyCounts(), READY: 1, SUCCEEDED: 1 });
    expect(live.taskCounts.get("calibrate")).toEqual({ ...emptyCounts(), READY: 2 });
  });

  it("refuses an illegal transition and leaves the state as it was", () => {
    const { t, live } = setup();
    const c1 = t.quanta.get("c1")!;
    expect(() => t.transition(c1, "succeeded")).toThrow(/succeeded is not allowed in state PENDING/);
    expect(c1.progress.state).toBe("PENDING");
    expect(live.counts.PENDING).toBe(2);
  });

  it("forgets a removed campaign's quanta", () => {
    const { t } = setup();
    t.removeCampaign("tab");
    expect(t.campaigns.size).toBe(0);
    expect(t.quanta.size).toBe(0);
  });
});
