import { describe, expect, it } from "vitest";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { expansionSpec, producedInputTypes, tasksToExpand } from "../campaign/deferred.js";
import { parseCampaign, type CampaignSpec } from "../campaign/spec.js";
import { campaignStateOf, taskDone } from "./attempt-results.js";
import { CampaignTable } from "./campaign-table.js";
import { producedCatalog } from "./deferred-catalog.js";
import type { CampaignRecord } from "./model.js";
import { buildQuanta } from "./quantum-builder.js";

function campaign(deferCoadd: boolean): CampaignSpec {
  return parseCampaign({
    sourceName: "campaign.yaml",
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: deferred-flow
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, exposure, detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {postISR: {datasetType: postISRCCD}}
    calibrate:
      command: [node, calibrate.mjs]
      dimensions: [instrument, exposure, detector]
      inputs: {postISR: {datasetType: postISRCCD}}
      outputs: {calexp: {datasetType: calexp}}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument, tract, patch]
      inputs: {calexp: {datasetType: calexp, multiple: true}}
      outputs: {coadd: {datasetType: deepCoadd}}
      deferred: ${String(deferCoadd)}
data: {scope: hsc}
output: {scope: hsc-drp, run: deferred-flow/run1}
`,
  });
}

const raws: CatalogFile[] = [903334, 903336].flatMap((exposure) =>
  [0, 1, 2, 3].map((detector) => ({
    scope: "hsc", name: `raw/r_${exposure}_${detector}.fits`, datasetType: "raw",
    dataId: { instrument: "HSC", exposure, detector, tract: 9813, patch: 1 + (detector >> 1) }, metadata: { obsTime: "2026-03-01T04:05:06Z" },
    bytes: 10, adler32: "1", md5: `raw-${exposure}-${detector}`, validFrom: "", validTo: "", rses: ["site-a-disk"],
  })),
);

/** Submit-time quanta of the deferred campaign, all run to success, in a table. */
function ranUpstream(spec: CampaignSpec, failOne = false) {
  const quanta = buildQuanta(spec, expandGraph(spec, new Map([["raw", raws]])));
  quanta.forEach((q, i) => {
    const failed = failOne && q.task === "calibrate" && i === quanta.length - 1;
    q.progress.state = failed ? "FAILED" : "SUCCEEDED";
    q.progress.produced = failed ? [] : q.outputs.map((o) => ({ role: o.role, did: o.did, rse: "site-b-disk", bytes: 20, adler32: "2", md5: `made-${q.id}` }));
  });
  const table = new CampaignTable();
  const record: CampaignRecord = {
    name: spec.name, state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "",
    quantumIds: quanta.map((q) => q.id), tasks: spec.tasks.map((t) => t.name), expanded: ["isr", "calibrate"], expansionError: "",
  };
  const live = table.addCampaign(record, spec);
  for (const q of quanta) table.addQuantum(live, q);
  return { quanta, live };
}

describe("deferred expansion from produced outputs", () => {
  it("plans no coadd at submit and keeps the campaign RUNNING while coadd waits to be expanded", () => {
    const spec = campaign(true);
    const { quanta, live } = ranUpstream(spec);
    expect(quanta.filter((q) => q.task === "coadd")).toHaveLength(0);
    expect(quanta).toHaveLength(16);
    expect(campaignStateOf(live)).toBe("RUNNING");
    expect(tasksToExpand(spec, new Set(live.expanded), (t) => taskDone(live, t))).toEqual(["coadd"]);
  });

  it("expands coadd from the calexps actually produced: one quantum per patch, linked to its makers, READY", () => {
    const spec = campaign(true);
    const { quanta } = ranUpstream(spec);
    const produced = producedCatalog(quanta, producedInputTypes(spec, ["coadd"]));
    expect(produced.catalog.get("calexp")).toHaveLength(8);
    expect(produced.catalog.get("calexp")![0]).toMatchObject({ scope: "hsc-drp", md5: "made-deferred-flow.calibrate.1", rses: ["site-b-disk"] });

    const narrowed = expansionSpec(spec, ["coadd"]);
    const graph = expandGraph(narrowed, produced.catalog);
    const coadds = buildQuanta(narrowed, graph, { existing: new Map([["isr", 8], ["calibrate", 8]]), madeBy: produced.madeBy });
    expect(coadds.map((q) => [q.id, q.dataId, q.progress.state])).toEqual([
      ["deferred-flow.coadd.1", { instrument: "HSC", tract: 9813, patch: 1 }, "READY"],
      ["deferred-flow.coadd.2", { instrument: "HSC", tract: 9813, patch: 2 }, "READY"],
    ]);
    const calibrates = new Map(quanta.filter((q) => q.task === "calibrate").map((q) => [q.outputs[0]!.did, q.id]));
    for (const c of coadds) {
      expect(c.inputs).toHaveLength(4);
      expect(c.upstream.sort()).toEqual(c.inputs.map((i) => calibrates.get(i.did)!).sort());
      for (const i of c.inputs) expect(i).toMatchObject({ producer: calibrates.get(i.did), md5: `made-${calibrates.get(i.did)!}`, rses: ["site-b-disk"] });
    }

    // Deferred or not, a coadd is the same work: the same identities.
    const plain = campaign(false);
    const planned = buildQuanta(plain, expandGraph(plain, new Map([["raw", raws]]))).filter((q) => q.task === "coadd");
    expect(coadds.map((q) => q.identity)).toEqual(planned.map((q) => q.identity));
  });

  it("gives a deferred task nothing while an upstream quantum FAILED, and the campaign fails", () => {
    const spec = campaign(true);
    const { live } = ranUpstream(spec, true);
    expect(tasksToExpand(spec, new Set(live.expanded), (t) => taskDone(live, t))).toEqual([]);
    expect(campaignStateOf(live)).toBe("FAILED");
  });

  it("fails the campaign whose deferred expansion hit a planning error, and succeeds one fully expanded", () => {
    const spec = campaign(true);
    const { live } = ranUpstream(spec);
    expect(campaignStateOf({ ...live, expanded: ["isr", "calibrate", "coadd"] })).toBe("SUCCEEDED");
    expect(campaignStateOf({ ...live, expanded: ["isr", "calibrate", "coadd"], expansionError: "planning failed" })).toBe("FAILED");
  });
});

