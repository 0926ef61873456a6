import { describe, expect, it } from "vitest";
import type { DataId } from "../../common/data-id.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { expandGraph, whereMatches, type CatalogFile, type PlannedGraph, type PlannedQuantum } from "./graph.js";
import { parseCampaign, type CampaignSpec } from "./spec.js";

const MINI_DRP_TASKS = `    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, exposure, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs:
        postISR: {datasetType: postISRCCD}
    calibrate:
      command: [node, calibrate.mjs]
      dimensions: [instrument, exposure, detector]
      inputs:
        postISR: {datasetType: postISRCCD}
      outputs:
        calexp: {datasetType: calexp}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument, tract, patch]
      inputs:
        calexp: {datasetType: calexp, multiple: true}
      outputs:
        coadd: {datasetType: deepCoadd}
`;

function campaign(tasks: string, where = "{instrument: HSC}"): CampaignSpec {
  const yaml = `apiVersion: orrery/v1
kind: Campaign
name: graph-test
pipeline:
  tasks:
${tasks}data:
  scope: hsc
  where: ${where}
output: {scope: hsc-drp, run: graph-test/run1}
`;
  return parseCampaign({ specYaml: yaml, sourceName: "campaign.yaml" });
}

function file(datasetType: string, name: string, dataId: DataId, bytes: number, extra: { obsTime?: string; validFrom?: string; validTo?: string } = {}): CatalogFile {
  return {
    scope: "hsc",
    name,
    datasetType,
    dataId,
    metadata: extra.obsTime === undefined ? {} : { obsTime: extra.obsTime },
    bytes,
    adler32: "00000001",
    md5: "d41d8cd98f00b204e9800998ecf8427e",
    validFrom: extra.validFrom ?? "",
    validTo: extra.validTo ?? "",
    rses: ["site-a-disk"],
  };
}

const T1 = "2026-03-01T04:05:06Z"; // exposure 903334
const T2 = "2026-03-02T00:00:00Z"; // exposure 903336: exactly where bias-16-a ends and bias-16-b starts

// 2 exposures × 2 detectors; detector 16 lies on patch 40, detector 17 on patch 41.
const RAWS = [
  file("raw", "raw/r_903334_16.fits", { instrument: "HSC", exposure: 903334, detector: 16, tract: 9813, patch: 40 }, 1000, { obsTime: T1 }),
  file("raw", "raw/r_903334_17.fits", { instrument: "HSC", exposure: 903334, detector: 17, tract: 9813, patch: 41 }, 1001, { obsTime: T1 }),
  file("raw", "raw/r_903336_16.fits", { instrument: "HSC", exposure: 903336, detector: 16, tract: 9813, patch: 40 }, 1002, { obsTime: T2 }),
  file("raw", "raw/r_903336_17.fits", { instrument: "HSC", exposure: 903336, detector: 17, tract: 9813, patch: 41 }, 1003, { obsTime: T2 }),
];
const BIAS_16_A = file("bias", "bias/b_16_a.fits", { instrument: "HSC", detector: 16 }, 100, { validFrom: "2026-01-01T00:00:00Z", validTo: T2 });
const BIAS_16_B = file("bias", "bias/b_16_b.fits", { instrument: "HSC", detector: 16 }, 101, { validFrom: T2 });
const BIAS_17 = file("bias", "bias/b_17.fits", { instrument: "HSC", detector: 17 }, 102, { validFrom: "2026-01-01T00:00:00Z", validTo: "2027-01-01T00:00:00Z" });
const BIAS_18 = file("bias", "bias/b_18.fits", { instrument: "HSC", detector: 18 }, 103, { validFrom: "2026-01-01T00:00:00Z" });
const BIASES = [BIAS_16_A, BIAS_16_B, BIAS_17, BIAS_18];

function catalog(entries: Record<string, CatalogFile[]>): Map<string, CatalogFile[]> {
  return new Map(Object.entries(entries));
}

/** What a user checks of a quantum: task, data id, input names by role, output data ids, upstream data ids. */
function summary(g: PlannedGraph, q: PlannedQuantum) {
  const inputs: Record<string, string[]> = {};
  for (const i of q.inputs) (inputs[i.role] ??= []).push(i.dataset.file ? i.dataset.file.name : `${i.dataset.datasetType}@${JSON.stringify(i.dataset.dataId)}`);
  return {
    task: q.task,
    dataId: q.dataId,
    inputs,
    outputs: q.outputs.map((o) => ({ role: o.role, datasetType: o.dataset.datasetType, dataId: o.dataset.dataId })),
    upstream: q.upstream.map((u) => `${g.quanta[u]!.task}@${JSON.stringify(g.quanta[u]!.dataId)}`).sort(),
  };
}

function quantaOf(g: PlannedGraph, task: string) {
  return g.quanta.filter((q) => q.task === task).map((q) => summary(g, q));
}

function planError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(OrreryError);
    expect((err as OrreryError).code).toBe(ErrorCode.PLAN_ERROR);
    return (err as OrreryError).message;
  }
  throw new Error("expected a PLAN_ERROR, the graph was planned");
}

const HSC = { instrument: "HSC" };

describe("expandGraph on mini-drp (isr → calibrate → coadd)", () => {
  const spec = campaign(MINI_DRP_TASKS);
  const graph = expandGraph(spec, catalog({ raw: RAWS, bias: BIASES }));

  it("counts quanta, dropped, edges and the catalog inputs used", () => {
    expect(graph.tasks).toEqual({ isr: { quanta: 4, dropped: 0 }, calibrate: { quanta: 4, dropped: 0 }, coadd: { quanta: 2, dropped: 0 } });
    expect(graph.quanta).toHaveLength(10);
    // calibrate: 4 × 1 upstream; coadd: 2 × 2 upstream.
    expect(graph.edges).toBe(8);
    // 4 raws + the 3 biases valid at their obsTimes (not bias 18: no raw on detector 18).
    expect(graph.inputs).toEqual({ datasets: 7, bytes: 1000 + 1001 + 1002 + 1003 + 100 + 101 + 102 });
  });

  it("isr: one quantum per exposure × detector, the bias valid at the raw's obsTime", () => {
    const postISR = (exposure: number, detector: number) => [
      { role: "postISR", datasetType: "postISRCCD", dataId: { ...HSC, exposure, detector, tract: 9813, patch: detector === 16 ? 40 : 41 } },
    ];
    expect(quantaOf(graph, "isr")).toEqual([
      { task: "isr", dataId: { ...HSC, exposure: 903334, detector: 16 }, inputs: { raw: ["raw/r_903334_16.fits"], bias: ["bias/b_16_a.fits"] }, outputs: postISR(903334, 16), upstream: [] },
      // obsTime = validTo of b_16_a (excluded) = validFrom of b_16_b (included)
      { task: "isr", dataId: { ...HSC, exposure: 903336, detector: 16 }, inputs: { raw: ["raw/r_903336_16.fits"], bias: ["bias/b_16_b.fits"] }, outputs: postISR(903336, 16), upstream: [] },
      { task: "isr", dataId: { ...HSC, exposure: 903334, detector: 17 }, inputs: { raw: ["raw/r_903334_17.fits"], bias: ["bias/b_17.fits"] }, outputs: postISR(903334, 17), upstream: [] },
      { task: "isr", dataId: { ...HSC, exposure: 903336, detector: 17 }, inputs: { raw: ["raw/r_903336_17.fits"], bias: ["bias/b_17.fits"] }, outputs: postISR(903336, 17), upstream: [] },
    ]);
  });

  it("calibrate: reads the isr output of its data id and depends on that isr quantum", () => {
    const cal = quantaOf(graph, "calibrate");
    expect(cal).toHaveLength(4);
    for (const q of cal) {
      const full = { ...q.dataId, tract: 9813, patch: q.dataId["detector"] === 16 ? 40 : 41 };
      expect(q.inputs).toEqual({ postISR: [`postISRCCD@${JSON.stringify(full)}`] });
      expect(q.outputs).toEqual([{ role: "calexp", datasetType: "calexp", dataId: full }]);
      expect(q.upstream).toEqual([`isr@${JSON.stringify(q.dataId)}`]);
    }
  });

  it("coadd: one quantum per patch with every calexp of it; the output keeps the keys all inputs agree on", () => {
    const calexp = (exposure: number, detector: number) => `calexp@${JSON.stringify({ ...HSC, exposure, detector, tract: 9813, patch: detector === 16 ? 40 : 41 })}`;
    const upstream = (detector: number) => [903334, 903336].map((exposure) => `calibrate@${JSON.stringify({ ...HSC, exposure, detector })}`);
    expect(quantaOf(graph, "coadd")).toEqual([
      {
        task: "coadd",
        dataId: { ...HSC, tract: 9813, patch: 40 },
        inputs: { calexp: [calexp(903334, 16), calexp(903336, 16)] },
        // exposure differs between the two calexps, detector does not
        outputs: [{ role: "coadd", datasetType: "deepCoadd", dataId: { ...HSC, tract: 9813, patch: 40, detector: 16 } }],
        upstream: upstream(16),
      },
      {
        task: "coadd",
        dataId: { ...HSC, tract: 9813, patch: 41 },
        inputs: { calexp: [calexp(903334, 17), calexp(903336, 17)] },
        outputs: [{ role: "coadd", datasetType: "deepCoadd", dataId: { ...HSC, tract: 9813, patch: 41, detector: 17 } }],
        upstream: upstream(17),
      },
    ]);
  });

  it("links inputs to the quantum that makes them, and gives every output its own DID in the output scope and run", () => {
    for (const q of graph.quanta) {
      for (const i of q.inputs) {
        if (i.dataset.producer === undefined) {
          expect(i.dataset.did).toBe(`hsc:${i.dataset.file!.name}`);
          continue;
        }
        const producer = graph.quanta[i.dataset.producer]!;
        expect(producer.outputs.map((o) => o.dataset.did)).toContain(i.dataset.did);
        expect(q.upstream).toContain(i.dataset.producer);
      }
    }
    const dids = graph.quanta.flatMap((q) => q.outputs.map((o) => o.dataset.did));
    expect(new Set(dids).size).toBe(10);
    for (const did of dids) expect(did.startsWith("hsc-drp:graph-test/run1/")).toBe(true);
  });

  it("plans the same graph whatever order the catalog lists files in", () => {
    const shuffled = expandGraph(spec, catalog({ raw: [...RAWS].reverse(), bias: [...BIASES].reverse() }));
    expect(shuffled.quanta.map((q) => summary(shuffled, q))).toEqual(graph.quanta.map((q) => summary(graph, q)));
  });
});

describe("data.where", () => {
  it("matches exact values, `in` lists and inclusive ranges; a key the data id lacks does not exclude it", () => {
    const id = { instrument: "HSC", exposure: 903334, detector: 16 };
    expect(whereMatches(id, {})).toBe(true);
    expect(whereMatches(id, { instrument: "HSC" })).toBe(true);
    expect(whereMatches(id, { instrument: "LSST" })).toBe(false);
    expect(whereMatches(id, { exposure: { in: [903334, 903336] } })).toBe(true);
    expect(whereMatches(id, { exposure: { in: [903336] } })).toBe(false);
    expect(whereMatches(id, { detector: { range: [16, 17] } })).toBe(true);
    expect(whereMatches(id, { detector: { range: [0, 16] } })).toBe(true);
    expect(whereMatches(id, { detector: { range: [17, 49] } })).toBe(false);
    expect(whereMatches(id, { instrument: "HSC", detector: { range: [17, 49] } })).toBe(false);
    expect(whereMatches({ instrument: "HSC", detector: 16 }, { exposure: 903334 })).toBe(true);
    expect(whereMatches({ instrument: "HSC", detector: 16 }, { exposure: { in: [1] }, visit: { range: [0, 1] } })).toBe(true);
  });

  it("exposure in [...]: fewer quanta, and biases (no exposure key) still pass", () => {
    const g = expandGraph(campaign(MINI_DRP_TASKS, "{instrument: HSC, exposure: {in: [903334, 1]}}"), catalog({ raw: RAWS, bias: BIASES }));
    expect(g.tasks).toEqual({ isr: { quanta: 2, dropped: 0 }, calibrate: { quanta: 2, dropped: 0 }, coadd: { quanta: 2, dropped: 0 } });
    expect(quantaOf(g, "isr").map((q) => [q.dataId, q.inputs])).toEqual([
      [{ ...HSC, exposure: 903334, detector: 16 }, { raw: ["raw/r_903334_16.fits"], bias: ["bias/b_16_a.fits"] }],
      [{ ...HSC, exposure: 903334, detector: 17 }, { raw: ["raw/r_903334_17.fits"], bias: ["bias/b_17.fits"] }],
    ]);
    // One calexp per patch now: the coadd's output keeps its exposure too.
    expect(quantaOf(g, "coadd").map((q) => q.outputs[0]!.dataId)).toEqual([
      { ...HSC, tract: 9813, patch: 40, exposure: 903334, detector: 16 },
      { ...HSC, tract: 9813, patch: 41, exposure: 903334, detector: 17 },
    ]);
    expect(g.inputs).toEqual({ datasets: 4, bytes: 1000 + 1001 + 100 + 102 });
  });

  it("an exact exposure keeps calibrations, which lack the key", () => {
    const g = expandGraph(campaign(MINI_DRP_TASKS, "{exposure: 903336}"), catalog({ raw: RAWS, bias: BIASES }));
    expect(quantaOf(g, "isr").map((q) => q.inputs)).toEqual([
      { raw: ["raw/r_903336_16.fits"], bias: ["bias/b_16_b.fits"] },
      { raw: ["raw/r_903336_17.fits"], bias: ["bias/b_17.fits"] },
    ]);
  });

  it("a detector range filters raws and calibrations alike", () => {
    const g = expandGraph(campaign(MINI_DRP_TASKS, "{detector: {range: [17, 49]}}"), catalog({ raw: RAWS, bias: BIASES }));
    expect(g.tasks).toEqual({ isr: { quanta: 2, dropped: 0 }, calibrate: { quanta: 2, dropped: 0 }, coadd: { quanta: 1, dropped: 0 } });
    expect(quantaOf(g, "isr").map((q) => q.dataId["detector"])).toEqual([17, 17]);
    // Range [16, 16] is inclusive at both ends.
    const only16 = expandGraph(campaign(MINI_DRP_TASKS, "{detector: {range: [16, 16]}}"), catalog({ raw: RAWS, bias: BIASES }));
    expect(quantaOf(only16, "isr").map((q) => q.dataId["detector"])).toEqual([16, 16]);
  });

  it("a where nothing matches plans no quanta", () => {
    const g = expandGraph(campaign(MINI_DRP_TASKS, "{instrument: LSST}"), catalog({ raw: RAWS, bias: BIASES }));
    expect(g).toEqual({ quanta: [], edges: 0, tasks: { isr: { quanta: 0, dropped: 0 }, calibrate: { quanta: 0, dropped: 0 }, coadd: { quanta: 0, dropped: 0 } }, inputs: { datasets: 0, bytes: 0 } });
  });
});

describe("input roles", () => {
  const DIFF = `    diff:
      command: [node, diff.mjs]
      dimensions: [instrument, exposure, detector]
      inputs:
        science: {datasetType: raw}
        template: {datasetType: template}
      outputs:
        diffim: {datasetType: diffim}
`;
  // A template for detector 16 only, on the tract but not a patch.
  const TEMPLATES = [file("template", "tmpl/t_16.fits", { instrument: "HSC", detector: 16, tract: 9813 }, 500)];

  it("a data id with no dataset for a second non-calibration role is dropped, not planned", () => {
    const g = expandGraph(campaign(DIFF), catalog({ raw: RAWS, template: TEMPLATES }));
    expect(g.tasks).toEqual({ diff: { quanta: 2, dropped: 2 } });
    expect(quantaOf(g, "diff")).toEqual(
      [903334, 903336].map((exposure) => ({
        task: "diff",
        dataId: { ...HSC, exposure, detector: 16 },
        inputs: { science: [`raw/r_${exposure}_16.fits`], template: ["tmpl/t_16.fits"] },
        // patch is on the raw only, so it is not on the output
        outputs: [{ role: "diffim", datasetType: "diffim", dataId: { ...HSC, exposure, detector: 16, tract: 9813 } }],
        upstream: [],
      })),
    );
    expect(g.inputs).toEqual({ datasets: 3, bytes: 1000 + 1002 + 500 });
  });

  it("two datasets for a role without `multiple` is a planning error naming task, role and data id", () => {
    const twin = file("raw", "raw/r_903334_16_snap1.fits", { instrument: "HSC", exposure: 903334, detector: 16, snap: 1 }, 999, { obsTime: T1 });
    const message = planError(() => expandGraph(campaign(MINI_DRP_TASKS), catalog({ raw: [...RAWS, twin], bias: BIASES })));
    expect(message).toContain("task isr, role raw, data id detector=16,exposure=903334,instrument=HSC: 2 raw datasets match where one is expected");
    expect(message).not.toContain("exposure=903336");
  });

  it("a task whose input type has no datasets plans nothing", () => {
    const g = expandGraph(campaign(MINI_DRP_TASKS), catalog({ raw: [], bias: BIASES }));
    expect(g.tasks).toEqual({ isr: { quanta: 0, dropped: 0 }, calibrate: { quanta: 0, dropped: 0 }, coadd: { quanta: 0, dropped: 0 } });
    expect(g.inputs).toEqual({ datasets: 0, bytes: 0 });
  });
});

describe("calibration roles", () => {
  it("no calibration valid at the obsTime is a planning error naming task, role and data id", () => {
    const message = planError(() => expandGraph(campaign(MINI_DRP_TASKS), catalog({ raw: RAWS, bias: [BIAS_16_A, BIAS_16_B, BIAS_18] })));
    // Detector 18's bias is not used for detector 17: calibrations match on the shared keys.
    expect(message).toContain(`task isr, role bias, data id detector=17,exposure=903334,instrument=HSC: no bias calibration valid at ${T1}`);
    expect(message).toContain(`task isr, role bias, data id detector=17,exposure=903336,instrument=HSC: no bias calibration valid at ${T2}`);
    expect(message).not.toContain("detector=16");
  });

  it("a calibration whose range ended before the obsTime does not match", () => {
    const expired = file("bias", "bias/b_17_old.fits", { instrument: "HSC", detector: 17 }, 102, { validFrom: "2025-01-01T00:00:00Z", validTo: T1 });
    const message = planError(() => expandGraph(campaign(MINI_DRP_TASKS), catalog({ raw: RAWS, bias: [BIAS_16_A, BIAS_16_B, expired] })));
    expect(message).toContain("task isr, role bias, data id detector=17,exposure=903334,instrument=HSC: no bias calibration");
  });

  it("two calibrations valid at the obsTime is a planning error naming task, role and data id", () => {
    const overlap = file("bias", "bias/b_16_c.fits", { instrument: "HSC", detector: 16 }, 104, { validFrom: "2026-02-01T00:00:00Z", validTo: "2026-03-01T12:00:00Z" });
    const message = planError(() => expandGraph(campaign(MINI_DRP_TASKS), catalog({ raw: RAWS, bias: [...BIASES, overlap] })));
    expect(message).toContain("task isr, role bias, data id detector=16,exposure=903334,instrument=HSC: 2 bias calibrations valid at");
    // exposure 903336 (obsTime T2) has only b_16_b
    expect(message).not.toContain("exposure=903336");
  });

  it("an input without obsTime cannot be matched to a calibration", () => {
    const noTime = RAWS.map((r) => (r.dataId["detector"] === 17 && r.dataId["exposure"] === 903336 ? { ...r, metadata: {} } : r));
    const message = planError(() => expandGraph(campaign(MINI_DRP_TASKS), catalog({ raw: noTime, bias: BIASES })));
    expect(message).toContain("task isr, role bias, data id detector=17,exposure=903336,instrument=HSC: no bias calibration");
    expect(message.split("\n").filter((l) => l.startsWith("task "))).toHaveLength(1);
  });

  it("a calibration with no validity range is valid at any time", () => {
    const always = [file("bias", "bias/b_16.fits", { instrument: "HSC", detector: 16 }, 1), file("bias", "bias/b_17.fits", { instrument: "HSC", detector: 17 }, 1)];
    const g = expandGraph(campaign(MINI_DRP_TASKS), catalog({ raw: RAWS, bias: always }));
    expect(quantaOf(g, "isr").map((q) => q.inputs["bias"])).toEqual([["bias/b_16.fits"], ["bias/b_16.fits"], ["bias/b_17.fits"], ["bias/b_17.fits"]]);
  });

  it("matches a calibration of a downstream task by the obsTime its planned input carries from the raw", () => {
    const tasks = MINI_DRP_TASKS.replace("        postISR: {datasetType: postISRCCD}\n      outputs:\n        calexp", "        postISR: {datasetType: postISRCCD}\n        flat: {datasetType: flat, calibration: true}\n      outputs:\n        calexp");
    expect(tasks).toContain("flat: {datasetType: flat");
    const flats = [
      file("flat", "flat/early.fits", HSC, 20, { validFrom: "2026-01-01T00:00:00Z", validTo: "2026-03-01T12:00:00Z" }),
      file("flat", "flat/late.fits", HSC, 21, { validFrom: "2026-03-01T12:00:00Z" }),
    ];
    const g = expandGraph(campaign(tasks), catalog({ raw: RAWS, bias: BIASES, flat: flats }));
    expect(quantaOf(g, "calibrate").map((q) => [q.dataId["exposure"], q.inputs["flat"]])).toEqual([
      [903334, ["flat/early.fits"]],
      [903336, ["flat/late.fits"]],
      [903334, ["flat/early.fits"]],
      [903336, ["flat/late.fits"]],
    ]);
    expect(g.inputs.datasets).toBe(9);
  });

  it("takes obsTime from the quantum's first non-calibration input (data-id order) for a multiple role", () => {
    const STACK = `    stack:
      command: [node, stack.mjs]
      dimensions: [instrument, tract, patch]
      inputs:
        raw: {datasetType: raw, multiple: true}
        skyMap: {datasetType: skyMap, calibration: true}
      outputs:
        stacked: {datasetType: stacked}
`;
    const early = file("skyMap", "sky/early.fits", HSC, 10, { validFrom: "2026-01-01T00:00:00Z", validTo: T2 });
    const late = file("skyMap", "sky/late.fits", HSC, 11, { validFrom: T2 });
    for (const raws of [RAWS, [...RAWS].reverse()]) {
      const g = expandGraph(campaign(STACK), catalog({ raw: raws, skyMap: [early, late] }));
      expect(quantaOf(g, "stack").map((q) => q.inputs)).toEqual([
        { raw: ["raw/r_903334_16.fits", "raw/r_903336_16.fits"], skyMap: ["sky/early.fits"] },
        { raw: ["raw/r_903334_17.fits", "raw/r_903336_17.fits"], skyMap: ["sky/early.fits"] },
      ]);
    }
  });
});

describe("expandGraph: tasks with no outputs", () => {
  it("makes one quantum per data id with no outputs, and nothing downstream depends on it", () => {
    const spec = campaign(`    probe:
      command: ["orrery:noop"]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
`);
    const raws = [0, 1, 2].map((d) => file("raw", `raw_${d}.fits`, { instrument: "HSC", exposure: 1, detector: d }, 10));
    const graph = expandGraph(spec, new Map([["raw", raws]]));
    expect(graph.quanta).toHaveLength(3);
    expect(graph.quanta.every((q) => q.outputs.length === 0 && q.upstream.length === 0)).toBe(true);
    expect(graph.quanta.map((q) => q.inputs.map((i) => i.dataset.did))).toEqual([["hsc:raw_0.fits"], ["hsc:raw_1.fits"], ["hsc:raw_2.fits"]]);
  });
});
