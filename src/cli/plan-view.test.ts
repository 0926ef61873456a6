import { describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { PlanResponseSchema, type PlanResponse } from "../gen/orrery/v1/coordinator_pb.js";
import { planHeadline, planRows, planToDot, planToJson } from "./plan-view.js";

// isr on 2 detectors, then one coadd reading both.
function plan(overrides: MessageInitShape<typeof PlanResponseSchema> = {}): PlanResponse {
  return create(PlanResponseSchema, {
    campaign: "mini",
    tasks: [
      { task: "isr", quanta: 2, dropped: 1, upstream: [], inputTypes: ["raw", "bias"], calibrationTypes: ["bias"], outputTypes: ["postISRCCD"] },
      { task: "coadd", quanta: 1, dropped: 0, upstream: ["isr"], inputTypes: ["postISRCCD"], calibrationTypes: [], outputTypes: ["deepCoadd"] },
    ],
    quanta: 3,
    edges: 2,
    inputDatasets: 4,
    inputBytes: 123_456n,
    plannedQuanta: [
      { task: 0, dataId: '{"detector":0,"instrument":"HSC"}', upstream: [] },
      { task: 0, dataId: '{"detector":1,"instrument":"H\\"SC"}', upstream: [] },
      { task: 1, dataId: '{"instrument":"HSC","patch":1}', upstream: [0, 1] },
    ],
    quantaLimit: 2000,
    taskEdges: [{ from: 0, to: 1, count: 2 }],
    ...overrides,
  });
}

describe("plan output", () => {
  it("prints exactly the CONTRACT's JSON", () => {
    expect(planToJson(plan())).toEqual({
      tasks: { isr: { quanta: 2, dropped: 1 }, coadd: { quanta: 1, dropped: 0 } },
      quanta: 3,
      edges: 2,
      inputs: { datasets: 4, bytes: 123456 },
    });
  });

  it("summarises each task with its upstream tasks and dataset types", () => {
    expect(planRows(plan())).toEqual([
      { task: "isr", quanta: 2, dropped: 1, upstream: "-", inputs: "raw, bias (calibration)", outputs: "postISRCCD" },
      { task: "coadd", quanta: 1, dropped: 0, upstream: "isr", inputs: "postISRCCD", outputs: "deepCoadd" },
    ]);
    expect(planHeadline(plan())).toBe("campaign mini: 3 quanta, 2 edges, reads 4 datasets (123.5 kB)");
    expect(planHeadline(plan({ quanta: 1, edges: 1, inputDatasets: 1, inputBytes: 5n }))).toBe("campaign mini: 1 quantum, 1 edge, reads 1 dataset (5 B)");
  });
});

describe("planToDot", () => {
  it("draws one node per quantum, clustered per task, edges upstream → downstream", () => {
    const { dot, taskLevel } = planToDot(plan());
    expect(taskLevel).toBe(false);
    expect(dot.startsWith('digraph "mini" {')).toBe(true);
    expect(dot.trimEnd().endsWith("}")).toBe(true);
    expect(dot.match(/^\s+q\d+ \[label=/gm)).toHaveLength(3);
    expect(dot.match(/->/g)).toHaveLength(2);
    expect(dot).toContain("q0 -> q2;");
    expect(dot).toContain("q1 -> q2;");
    expect(dot.match(/subgraph "cluster_\d+"/g)).toHaveLength(2);
    expect(dot).toContain('label="isr (2)"');
    expect(dot).toContain('q0 [label="isr\\ndetector=0, instrument=HSC"];');
    // A quote in a data id value is escaped, not the end of the label.
    expect(dot).toContain('q1 [label="isr\\ndetector=1, instrument=H\\"SC"];');
  });

  it("draws tasks with counts when the plan is over the limit", () => {
    const { dot, taskLevel } = planToDot(plan(), 2);
    expect(taskLevel).toBe(true);
    expect(dot).toContain('t0 [label="isr\\n2 quanta"];');
    expect(dot).toContain('t1 [label="coadd\\n1 quantum"];');
    expect(dot).toContain('t0 -> t1 [label="2"];');
    expect(dot).not.toMatch(/\bq\d/);
  });

  it("shows a deferred task as deferred: in the summary, and as one dashed node", () => {
    const p = plan();
    p.tasks[1]!.deferred = true;
    p.tasks[1]!.quanta = 0;
    p.quanta = 2;
    p.plannedQuanta = p.plannedQuanta.slice(0, 2);
    expect(planRows(p)[1]!.quanta).toBe("deferred");
    const { dot, taskLevel } = planToDot(p);
    expect(taskLevel).toBe(false);
    expect(dot).toContain('d1 [label="coadd\\ndeferred", style=dashed];');
    expect(dot.match(/subgraph/g)).toHaveLength(1);
  });

  it("draws tasks when the coordinator sent no quanta", () => {
    expect(planToDot(plan({ plannedQuanta: [] })).taskLevel).toBe(true);
  });
});
