import { describe, expect, it } from "vitest";
import type { DataId } from "../../common/data-id.js";
import { expandGraph, parseCampaign, type CatalogFile } from "../campaign/index.js";
import { configResponse, planResponse } from "./plan-view.js";

const CAMPAIGN = `apiVersion: orrery/v1
kind: Campaign
name: plan-view
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, exposure, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs:
        postISR: {datasetType: postISRCCD}
      config: {doBias: true, saturation: 65000}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument, patch]
      inputs:
        postISR: {datasetType: postISRCCD, multiple: true}
      outputs:
        coadd: {datasetType: deepCoadd}
data:
  scope: hsc
  where: {instrument: HSC}
config: {isr.saturation: 62000}
output: {scope: hsc-drp, run: plan-view/run1}
`;

function file(datasetType: string, name: string, dataId: DataId, bytes: number, extra: Partial<CatalogFile> = {}): CatalogFile {
  return { scope: "hsc", name, datasetType, dataId, metadata: { obsTime: "2026-03-01T04:05:06Z" }, bytes, adler32: "1", md5: "m", validFrom: "", validTo: "", rses: ["site-a-disk"], ...extra };
}

// 2 exposures × 2 detectors on one patch, one bias per detector.
const CATALOG = new Map<string, CatalogFile[]>([
  [
    "raw",
    [903334, 903336].flatMap((exposure) => [0, 1].map((detector) => file("raw", `raw/r_${exposure}_${detector}.fits`, { instrument: "HSC", exposure, detector, patch: 1 }, 1000))),
  ],
  ["bias", [0, 1].map((detector) => file("bias", `bias/b_${detector}.fits`, { instrument: "HSC", detector }, 10, { metadata: {} }))],
]);

describe("planResponse", () => {
  const spec = parseCampaign({ specYaml: CAMPAIGN, sourceName: "c.yaml", configOverrides: ["isr.saturation=60000"] });
  const graph = expandGraph(spec, CATALOG);

  it("carries per-task counts, upstream tasks and dataset types in pipeline order", () => {
    const plan = planResponse(spec, graph);
    expect(plan.campaign).toBe("plan-view");
    expect(plan.quanta).toBe(5);
    expect(plan.edges).toBe(4);
    expect(plan.inputDatasets).toBe(6);
    expect(plan.inputBytes).toBe(4020n);
    expect(plan.tasks).toEqual([
      { task: "isr", quanta: 4, dropped: 0, upstream: [], inputTypes: ["raw", "bias"], calibrationTypes: ["bias"], outputTypes: ["postISRCCD"], deferred: false },
      { task: "coadd", quanta: 1, dropped: 0, upstream: ["isr"], inputTypes: ["postISRCCD"], calibrationTypes: [], outputTypes: ["deepCoadd"], deferred: false },
    ]);
  });

  it("lists every quantum by task index with its upstream quanta, and counts edges between tasks", () => {
    const plan = planResponse(spec, graph);
    const quanta = plan.plannedQuanta!;
    expect(quanta).toHaveLength(5);
    expect(quanta.filter((q) => q.task === 0)).toHaveLength(4);
    const coadd = quanta.find((q) => q.task === 1)!;
    expect(JSON.parse(coadd.dataId!)).toEqual({ instrument: "HSC", patch: 1 });
    expect([...coadd.upstream!].sort()).toEqual([0, 1, 2, 3]);
    expect(JSON.parse(quanta[0]!.dataId!)).toEqual({ detector: 0, exposure: 903334, instrument: "HSC" });
    expect(plan.taskEdges).toEqual([{ from: 0, to: 1, count: 4 }]);
  });

  it("marks deferred tasks and every task downstream of one", () => {
    const text = CAMPAIGN.replace("      command: [node, isr.mjs]", "      command: [node, isr.mjs]\n      deferred: true");
    const deferredSpec = parseCampaign({ specYaml: text, sourceName: "c.yaml" });
    const plan = planResponse(deferredSpec, expandGraph(deferredSpec, CATALOG));
    expect(plan.tasks!.map((t) => [t.task, t.deferred])).toEqual([
      ["isr", true],
      ["coadd", true],
    ]);
  });

  it("leaves the quanta out above the limit but keeps the task-level shape", () => {
    const plan = planResponse(spec, graph, 3);
    expect(plan.plannedQuanta).toEqual([]);
    expect(plan.quanta).toBe(5);
    expect(plan.quantaLimit).toBe(3);
    expect(plan.taskEdges).toEqual([{ from: 0, to: 1, count: 4 }]);
  });
});

describe("configResponse", () => {
  it("gives each task's keys with their history, values as JSON scalars, tasks without config included", () => {
    const spec = parseCampaign({ specYaml: CAMPAIGN, sourceName: "c.yaml", configOverrides: ["isr.saturation=60000"] });
    const res = configResponse(spec);
    expect(res.tasks!.map((t) => t.task)).toEqual(["isr", "coadd"]);
    const isr = res.tasks![0]!;
    const saturation = isr.entries!.find((e) => e.key === "saturation")!;
    expect(saturation.valueJson).toBe("60000");
    expect(saturation.history).toEqual([
      { valueJson: "65000", source: "pipeline c.yaml:14" },
      { valueJson: "62000", source: "campaign c.yaml:25" },
      { valueJson: "60000", source: "--config" },
    ]);
    expect(isr.entries!.find((e) => e.key === "doBias")).toEqual({ key: "doBias", valueJson: "true", history: [{ valueJson: "true", source: "pipeline c.yaml:14" }] });
    expect(res.tasks![1]!.entries).toEqual([]);
  });
});
