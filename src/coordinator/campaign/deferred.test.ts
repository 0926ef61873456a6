import { describe, expect, it } from "vitest";
import type { DataId } from "../../common/data-id.js";
import { deferredClosure, expansionSpec, producedInputTypes, tasksToExpand } from "./deferred.js";
import { expandGraph, type CatalogFile } from "./graph.js";
import { parseCampaign, type CampaignSpec } from "./spec.js";

/** isr → calibrate → coadd, plus `measure` reading calexp and coadd; `deferred` marks tasks deferred. */
function campaign(deferred: string[]): CampaignSpec {
  const d = (t: string) => (deferred.includes(t) ? "\n      deferred: true" : "");
  const yaml = `apiVersion: orrery/v1
kind: Campaign
name: deferred-test
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, exposure, detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {postISR: {datasetType: postISRCCD}}${d("isr")}
    calibrate:
      command: [node, calibrate.mjs]
      dimensions: [instrument, exposure, detector]
      inputs: {postISR: {datasetType: postISRCCD}}
      outputs: {calexp: {datasetType: calexp}}${d("calibrate")}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument, tract, patch]
      inputs: {calexp: {datasetType: calexp, multiple: true}}
      outputs: {coadd: {datasetType: deepCoadd}}${d("coadd")}
    measure:
      command: [node, measure.mjs]
      dimensions: [instrument, tract, patch]
      inputs:
        coadd: {datasetType: deepCoadd}
        calexp: {datasetType: calexp, multiple: true}
      outputs: {catalog: {datasetType: objectTable}}${d("measure")}
data: {scope: hsc}
output: {scope: hsc-drp, run: deferred-test/run1}
`;
  return parseCampaign({ specYaml: yaml, sourceName: "campaign.yaml" });
}

function file(datasetType: string, name: string, dataId: DataId): CatalogFile {
  return { scope: "hsc", name, datasetType, dataId, metadata: {}, bytes: 10, adler32: "1", md5: `md5-${name}`, validFrom: "", validTo: "", rses: ["site-a-disk"] };
}
const raws = [0, 1, 2, 3].map((detector) => file("raw", `raw/r_${detector}.fits`, { instrument: "HSC", exposure: 1, detector, tract: 9813, patch: 1 + (detector >> 1) }));

describe("deferred tasks", () => {
  it("leaves deferred tasks and their downstream out of the submit-time expansion, with 0 quanta", () => {
    const spec = campaign(["coadd"]);
    expect(deferredClosure(spec)).toEqual(new Set(["coadd", "measure"]));
    const graph = expandGraph(spec, new Map([["raw", raws]]));
    expect(graph.tasks).toEqual({
      isr: { quanta: 4, dropped: 0 },
      calibrate: { quanta: 4, dropped: 0 },
      coadd: { quanta: 0, dropped: 0 },
      measure: { quanta: 0, dropped: 0 },
    });
    expect(graph.quanta.map((q) => q.task)).not.toContain("coadd");
  });

  it("expands a deferred task only when every upstream task is expanded and done, with what goes along", () => {
    const spec = campaign(["coadd"]);
    const expanded = new Set(["isr", "calibrate"]);
    expect(tasksToExpand(spec, expanded, (t) => t === "isr")).toEqual([]);
    // measure reads calexp (done) and deepCoadd (made now): it goes along with coadd.
    expect(tasksToExpand(spec, expanded, () => true)).toEqual(["coadd", "measure"]);
  });

  it("waits for a deferred task downstream of another one until that one's quanta are done", () => {
    const spec = campaign(["calibrate", "measure"]);
    expect(tasksToExpand(spec, new Set(["isr"]), () => true)).toEqual(["calibrate", "coadd"]);
    expect(tasksToExpand(spec, new Set(["isr", "calibrate", "coadd"]), (t) => t !== "coadd")).toEqual([]);
    expect(tasksToExpand(spec, new Set(["isr", "calibrate", "coadd"]), () => true)).toEqual(["measure"]);
    // A deferred task with no upstream task can be expanded at once.
    expect(tasksToExpand(campaign(["isr"]), new Set(), () => false)).toEqual(["isr", "calibrate", "coadd", "measure"]);
  });

  it("narrows the campaign to the tasks expanded now, none of them deferred, and names the types made before", () => {
    const spec = campaign(["coadd"]);
    const narrowed = expansionSpec(spec, ["coadd", "measure"]);
    expect(narrowed.tasks.map((t) => [t.name, t.deferred, t.upstream])).toEqual([
      ["coadd", false, []],
      ["measure", false, ["coadd"]],
    ]);
    expect(producedInputTypes(spec, ["coadd", "measure"])).toEqual(["calexp"]);

    // Expanded from the produced calexps, as a catalog: one coadd and one measure per patch.
    const calexps = raws.map((r, i) => ({ ...file("calexp", `run/calexp_${i}.fits`, r.dataId), scope: "hsc-drp" }));
    const graph = expandGraph(narrowed, new Map([["calexp", calexps]]));
    expect(graph.tasks).toEqual({ coadd: { quanta: 2, dropped: 0 }, measure: { quanta: 2, dropped: 0 } });
    const measure = graph.quanta.filter((q) => q.task === "measure");
    expect(measure.map((q) => q.inputs.map((i) => i.dataset.producer !== undefined))).toEqual([
      [true, false, false],
      [true, false, false],
    ]);
  });
});
