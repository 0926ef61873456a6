import { describe, expect, it } from "vitest";
import { parseCampaign } from "../campaign/spec.js";
import { CampaignTable } from "./campaign-table.js";
import type { CampaignRecord } from "./model.js";
import type { RowBatch } from "./quantum-rows.js";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { setFirstStates } from "./initial-progress.js";
import { unschedulableTasks, type AgentCapacity } from "./unschedulable.js";

function campaign(extra = "") {
  const spec = parseCampaign({
    sourceName: "u.yaml",
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: u
pipeline:
  tasks:
    huge: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: a}}, resources: {cores: 64, memoryMB: 100}}
    pinned: {command: [b], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: b}}, resources: {cores: 1, memoryMB: 100}, preemptible: false}
    fine: {command: [c], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: c}}, resources: {cores: 1, memoryMB: 100, diskMB: 50}}
data: {scope: hsc}
output: {scope: out, run: u}
${extra}`,
  });
  const t = new CampaignTable();
  const record: CampaignRecord = { name: "u", state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "", tasks: ["huge", "pinned", "fine"], expanded: ["huge", "pinned", "fine"], expansionError: "", generation: "" };
  const c = t.addCampaign(record, spec);
  const batch: RowBatch = {
    ranges: [{ task: "huge", start: 0, count: 2 }, { task: "pinned", start: 2, count: 1 }, { task: "fine", start: 3, count: 1 }],
    count: 4,
    upstream: { start: new Int32Array(5), rows: new Int32Array(0) },
    identities: new Uint8Array(4 * IDENTITY_BYTES),
  };
  t.appendRows(c, batch);
  setFirstStates(c.rows, 0);
  t.addRows(c, 0);
  return c;
}

const spot: AgentCapacity = { site: "site-a", kind: "spot", cores: 8, memoryMB: 16000, diskMB: 10000 };

describe("unschedulable quanta", () => {
  it("names the task, how many quanta, what they need and what the largest agent has", () => {
    const found = unschedulableTasks(campaign(), [spot]);
    expect(found.map((u) => [u.task, u.quanta])).toEqual([
      ["huge", 2],
      ["pinned", 1],
    ]);
    expect(found[0]!.reason).toBe("needs 64 cores, 100 MB memory, 1000 MB disk; the largest connected agent that may run it has 8 cores, 16000 MB, 10000 MB disk");
    expect(found[1]!.reason).toMatch(/preemptible: false and only spot agents/);
  });

  it("counts disk, and agents only at allowed sites", () => {
    const c = campaign("sites: {allow: [site-b]}");
    const small: AgentCapacity = { site: "site-b", kind: "static", cores: 64, memoryMB: 1000, diskMB: 40 };
    expect(unschedulableTasks(c, [small]).map((u) => u.task)).toEqual(["huge", "pinned", "fine"]);
    expect(unschedulableTasks(c, [spot]).every((u) => u.reason.includes("sites.allow is [site-b]"))).toBe(true);
  });

  it("reports nothing when an agent fits, or when no agent is connected", () => {
    expect(unschedulableTasks(campaign(), [{ site: "site-a", kind: "hpc", cores: 64, memoryMB: 1000, diskMB: 2000 }])).toEqual([]);
    expect(unschedulableTasks(campaign(), [])).toEqual([]);
  });
});
