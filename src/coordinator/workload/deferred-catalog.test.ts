import { describe, expect, it } from "vitest";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { expansionSpec, producedInputTypes, tasksToExpand } from "../campaign/deferred.js";
import { parseCampaign, type CampaignSpec } from "../campaign/spec.js";
import { campaignStateOf, taskDone } from "./attempt-results.js";
import { CampaignTable, type LiveCampaign } from "./campaign-table.js";
import { makerTasks, producedCatalog, type DoneQuantum } from "./deferred-catalog.js";
import type { CampaignRecord } from "./model.js";
import { buildExpansion, type Expansion } from "./quantum-builder.js";
import { doneMakers, resolveInputs, settleRows } from "./quantum-links.js";
import { isDone } from "./quantum-state.js";

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

/** Submit-time quanta of the deferred campaign, all run to success, as rows of a campaign in a table. */
function ranUpstream(spec: CampaignSpec, failOne = false) {
  const expansion = buildExpansion(spec, expandGraph(spec, new Map([["raw", raws]])));
  const table = new CampaignTable();
  const record: CampaignRecord = {
    name: spec.name, state: "RUNNING", priority: 100, share: 1, createdMs: 1, finishedMs: 0, specJson: "",
    tasks: spec.tasks.map((t) => t.name), expanded: ["isr", "calibrate"], expansionError: "", generation: "",
  };
  const live = table.addCampaign(record, spec);
  const rows = live.rows;
  rows.append(expansion);
  for (let row = 0; row < expansion.count; row++) {
    const failed = failOne && rows.task(row) === "calibrate" && row === expansion.count - 1;
    rows.restore(row, { ...rows.progress(row), state: failed ? "FAILED" : "SUCCEEDED" });
    if (!failed) rows.runOf(row).produced = expansion.definition(row).outputs.map((o) => ({ role: o.role, did: o.did, rse: "site-b-disk", bytes: 20, adler32: "2", md5: `made-${rows.id(row)}` }));
  }
  table.addRows(live, 0);
  return { expansion, table, live };
}

/** The done quanta of the tasks that make `types`, as the deferred expander reads them (definitions from the expansion, as Redis holds them). */
function doneQuanta(spec: CampaignSpec, live: LiveCampaign, expansion: Expansion, types: readonly string[]): DoneQuantum[] {
  const done: DoneQuantum[] = [];
  for (const task of makerTasks(spec, types)) {
    for (const row of live.rows.rowsOf(task)) {
      if (isDone(live.rows.state(row))) done.push({ row, definition: expansion.definition(row), produced: live.rows.run(row)?.produced ?? [] });
    }
  }
  return done;
}

describe("deferred expansion from produced outputs", () => {
  it("plans no coadd at submit and keeps the campaign RUNNING while coadd waits to be expanded", () => {
    const spec = campaign(true);
    const { expansion, live } = ranUpstream(spec);
    expect([...live.rows.rowsOf("coadd")]).toHaveLength(0);
    expect(live.rows.ranges.map((r) => r.task)).toEqual(["isr", "calibrate"]);
    expect(expansion.count).toBe(16);
    expect(live.rows.length).toBe(16);
    expect(campaignStateOf(live)).toBe("RUNNING");
    expect(tasksToExpand(spec, new Set(live.expanded), (t) => taskDone(live, t))).toEqual(["coadd"]);
  });

  it("expands coadd from the calexps actually produced: one quantum per patch, linked to its makers, READY", () => {
    const spec = campaign(true);
    const { expansion, table, live } = ranUpstream(spec);
    const types = producedInputTypes(spec, ["coadd"]);
    expect(makerTasks(spec, types)).toEqual(["calibrate"]);
    const produced = producedCatalog(doneQuanta(spec, live, expansion, types), types);
    expect(produced.catalog.get("calexp")).toHaveLength(8);
    expect(produced.catalog.get("calexp")![0]).toMatchObject({ scope: "hsc-drp", md5: "made-deferred-flow.calibrate.1", rses: ["site-b-disk"] });

    const narrowed = expansionSpec(spec, ["coadd"]);
    const graph = expandGraph(narrowed, produced.catalog);
    const coadds = buildExpansion(narrowed, graph, { firstRow: live.rows.length, madeBy: produced.madeBy });
    const first = live.rows.append(coadds);
    expect(first).toBe(16);
    settleRows(live.rows, first, live.rows.length, new Map());
    table.addRows(live, first);
    const rowsOfCoadds = Array.from({ length: coadds.count }, (_, i) => first + i);
    expect(rowsOfCoadds.map((row, i) => [live.rows.id(row), coadds.definition(i).dataId, live.rows.state(row)])).toEqual([
      ["deferred-flow.coadd.1", { instrument: "HSC", tract: 9813, patch: 1 }, "READY"],
      ["deferred-flow.coadd.2", { instrument: "HSC", tract: 9813, patch: 2 }, "READY"],
    ]);
    expect(rowsOfCoadds.map((_, i) => coadds.id(i))).toEqual(["deferred-flow.coadd.1", "deferred-flow.coadd.2"]);
    expect([...live.ready]).toEqual(rowsOfCoadds);

    const calibrates = new Map([...live.rows.rowsOf("calibrate")].map((row) => [expansion.definition(row).outputs[0]!.did, live.rows.id(row)]));
    rowsOfCoadds.forEach((row, i) => {
      const c = coadds.definition(i);
      expect(c.inputs).toHaveLength(4);
      const makers = c.inputs.map((input) => calibrates.get(input.did)!).sort();
      expect([...c.upstream].sort()).toEqual(makers);
      // The rows' links (what readiness follows) name the same makers.
      expect([...live.rows.upstream(row)].map((u) => live.rows.id(u)).sort()).toEqual(makers);
      for (const input of c.inputs) expect(input).toMatchObject({ producer: calibrates.get(input.did), md5: `made-${calibrates.get(input.did)!}`, rses: ["site-b-disk"] });
      // A lease of it reads the same files (the makers' replicas, as their stored progress has them).
      const produced = new Map(doneMakers(live.rows, row).map((id) => [id, live.rows.run(live.rows.rowOf(id)!)!.produced]));
      expect(produced.size).toBe(4);
      expect(resolveInputs(live, c.inputs, produced).map((input) => [input.did, input.md5, input.rses])).toEqual(c.inputs.map((input) => [input.did, input.md5, input.rses]));
    });

    // Deferred or not, a coadd is the same work: the same identities.
    const plain = campaign(false);
    const planned = buildExpansion(plain, expandGraph(plain, new Map([["raw", raws]])));
    const plannedCoadds = Array.from({ length: planned.count }, (_, i) => i).filter((i) => planned.task(i) === "coadd");
    expect(plannedCoadds).toHaveLength(2);
    expect(rowsOfCoadds.map((_, i) => coadds.identity(i))).toEqual(plannedCoadds.map((i) => planned.identity(i)));
    expect(rowsOfCoadds.map((row) => live.rows.identity(row))).toEqual(plannedCoadds.map((i) => planned.identity(i)));
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
