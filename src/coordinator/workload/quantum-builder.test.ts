import { describe, expect, it } from "vitest";
import type { DataId } from "../../common/data-id.js";
import { expansionSpec } from "../campaign/deferred.js";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { graphIdentityBytes, IDENTITY_BYTES, identityHex } from "../campaign/identity.js";
import { parseCampaign } from "../campaign/spec.js";
import { taskMemoryOf } from "./campaign-table.js";
import { producedCatalog } from "./deferred-catalog.js";
import { setFirstStates } from "./initial-progress.js";
import type { ProducedReplica } from "./model.js";
import { buildExpansion } from "./quantum-builder.js";
import { settleRows } from "./quantum-links.js";

import { QuantumRows } from "./quantum-rows.js";

/** Identities of a planned graph as hex, in its order. */
function graphIdentities(...args: Parameters<typeof graphIdentityBytes>): string[] {
  const bytes = graphIdentityBytes(...args);
  return args[1].quanta.map((_, i) => identityHex(bytes, i));
}

const spec = parseCampaign({
  sourceName: "campaign.yaml",
  specYaml: `apiVersion: orrery/v1
kind: Campaign
name: mini-drp
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, exposure, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs: {postISR: {datasetType: postISRCCD}}
      resources: {memoryMB: 256}
    calibrate:
      command: [node, calibrate.mjs]
      dimensions: [instrument, exposure, detector]
      inputs: {postISR: {datasetType: postISRCCD}}
      outputs: {calexp: {datasetType: calexp}}
      resources: {memoryMB: 512}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument, tract, patch]
      inputs: {calexp: {datasetType: calexp, multiple: true}}
      outputs: {coadd: {datasetType: deepCoadd}}
data: {scope: hsc}
output: {scope: hsc-drp, run: mini-drp/run1}
`,
});

function file(datasetType: string, name: string, dataId: DataId, bytes: number, obsTime?: string): CatalogFile {
  return { scope: "hsc", name, datasetType, dataId, metadata: obsTime ? { obsTime } : {}, bytes, adler32: `a-${name}`, md5: `m-${name}`, validFrom: "", validTo: "", rses: ["site-a-disk", "site-b-disk"] };
}

const T = "2026-03-01T04:05:06Z";
const raws = [903334, 903336].flatMap((exposure) => [16, 17].map((detector) => file("raw", `raw/r_${exposure}_${detector}.fits`, { instrument: "HSC", exposure, detector, tract: 9813, patch: 40 }, 1000, T)));
const biases = [16, 17].map((detector) => file("bias", `bias/b_${detector}.fits`, { instrument: "HSC", detector }, 100));
const graph = expandGraph(spec, new Map([["raw", raws], ["bias", biases]]));
const expansion = buildExpansion(spec, graph);
const definitions = Array.from({ length: expansion.count }, (_, i) => expansion.definition(i));
const byId = new Map(definitions.map((d) => [d.id, d]));

/** The expansion as a campaign's rows, in their first states. */
function appended(): QuantumRows {
  const rows = new QuantumRows("mini-drp", taskMemoryOf(spec));
  expect(rows.append(expansion)).toBe(0);
  setFirstStates(rows, 0);
  return rows;
}
const rows = appended();
const row = (id: string) => rows.rowOf(id)!;
const idsOf = (list: Int32Array) => [...list].map((r) => rows.id(r));

const IDS = [
  "mini-drp.isr.1",
  "mini-drp.isr.2",
  "mini-drp.isr.3",
  "mini-drp.isr.4",
  "mini-drp.calibrate.1",
  "mini-drp.calibrate.2",
  "mini-drp.calibrate.3",
  "mini-drp.calibrate.4",
  "mini-drp.coadd.1",
];

describe("buildExpansion", () => {
  it("numbers quanta per task within the campaign", () => {
    expect(expansion.campaign).toBe("mini-drp");
    expect(expansion.count).toBe(9);
    expect(Array.from({ length: expansion.count }, (_, i) => expansion.id(i))).toEqual(IDS);
    expect(definitions.map((d) => d.id)).toEqual(IDS);
    for (const d of definitions) expect(d.campaign).toBe("mini-drp");
    // the rows give the same ids back, and find their row by id
    expect(Array.from({ length: rows.length }, (_, r) => rows.id(r))).toEqual(IDS);
    IDS.forEach((id, r) => expect(rows.rowOf(id)).toBe(r));
  });

  it("puts each task's quanta in one contiguous range of rows", () => {
    expect(expansion.ranges).toEqual([
      { task: "isr", start: 0, count: 4 },
      { task: "calibrate", start: 4, count: 4 },
      { task: "coadd", start: 8, count: 1 },
    ]);
    expect(rows.ranges).toEqual(expansion.ranges);
    for (let i = 0; i < expansion.count; i++) {
      expect(expansion.task(i)).toBe(definitions[i]!.task);
      expect(rows.task(i)).toBe(definitions[i]!.task);
    }
  });

  it("makes only quanta without upstream READY; the rest wait PENDING", () => {
    expect(IDS.filter((id) => rows.state(row(id)) === "READY")).toEqual(["mini-drp.isr.1", "mini-drp.isr.2", "mini-drp.isr.3", "mini-drp.isr.4"]);
    expect(IDS.filter((id) => rows.task(row(id)) !== "isr").every((id) => rows.state(row(id)) === "PENDING")).toBe(true);
    // settling with nothing reused gives the same first states
    const settled = new QuantumRows("mini-drp", taskMemoryOf(spec));
    settled.append(expansion);
    settleRows(settled, 0, expansion.count, new Map());
    for (let r = 0; r < rows.length; r++) expect(settled.state(r)).toBe(rows.state(r));
    for (let r = 0; r < rows.length; r++) expect(rows.isInitial(r)).toBe(true);
  });

  it("settles reused quanta SKIPPED with their replicas, and readies what reads only from done makers", () => {
    const settled = new QuantumRows("mini-drp", taskMemoryOf(spec));
    settled.append(expansion);
    const produced: ProducedReplica[] = [{ role: "postISR", did: "hsc-drp:old/postISR_1.fits", rse: "site-a-disk", bytes: 7, adler32: "a", md5: "m" }];
    settleRows(settled, 0, expansion.count, new Map([[0, produced]]));
    expect(settled.state(0)).toBe("SKIPPED");
    expect(settled.run(0)?.produced).toEqual(produced);
    expect(settled.isInitial(0)).toBe(false);
    // calibrate.1 reads only isr.1, which is done
    expect(IDS.filter((_, r) => settled.state(r) === "READY")).toEqual(["mini-drp.isr.2", "mini-drp.isr.3", "mini-drp.isr.4", "mini-drp.calibrate.1"]);
    expect(["mini-drp.calibrate.2", "mini-drp.calibrate.3", "mini-drp.calibrate.4", "mini-drp.coadd.1"].map((id) => settled.state(settled.rowOf(id)!))).toEqual(["PENDING", "PENDING", "PENDING", "PENDING"]);
  });

  it("links upstream and downstream by row, both ways, and the definitions name the same upstream ids", () => {
    const coadd = row("mini-drp.coadd.1");
    expect(idsOf(rows.upstream(coadd)).sort()).toEqual(["mini-drp.calibrate.1", "mini-drp.calibrate.2", "mini-drp.calibrate.3", "mini-drp.calibrate.4"]);
    expect(idsOf(rows.downstream(coadd))).toEqual([]);
    expect(byId.get("mini-drp.coadd.1")!.upstream.sort()).toEqual(["mini-drp.calibrate.1", "mini-drp.calibrate.2", "mini-drp.calibrate.3", "mini-drp.calibrate.4"]);
    for (let n = 1; n <= 4; n++) {
      const isr = row(`mini-drp.isr.${n}`);
      const calibrate = row(`mini-drp.calibrate.${n}`);
      expect(idsOf(rows.upstream(isr))).toEqual([]);
      expect(idsOf(rows.downstream(isr))).toEqual([`mini-drp.calibrate.${n}`]);
      expect(idsOf(rows.upstream(calibrate))).toEqual([`mini-drp.isr.${n}`]);
      expect(idsOf(rows.downstream(calibrate))).toEqual(["mini-drp.coadd.1"]);
      expect(byId.get(`mini-drp.calibrate.${n}`)!.dataId).toEqual(byId.get(`mini-drp.isr.${n}`)!.dataId);
    }
    // a definition's upstream (what a restart rebuilds the links from) is the rows' upstream
    for (let i = 0; i < expansion.count; i++) expect(definitions[i]!.upstream).toEqual(idsOf(rows.upstream(i)));
  });

  it("gives each quantum the identity graphIdentities computes, as bytes, hex, in the rows and in its definition", () => {
    const expected = graphIdentities(spec, graph);
    expect(expansion.identities).toHaveLength(expansion.count * IDENTITY_BYTES);
    expect(Array.from({ length: expansion.count }, (_, i) => expansion.identity(i))).toEqual(expected);
    expect(Array.from({ length: rows.length }, (_, r) => rows.identity(r))).toEqual(expected);
    expect(definitions.map((d) => d.identity)).toEqual(expected);
    expect(new Set(expected).size).toBe(expected.length);
  });

  it("names an input's producer by quantum id, and carries catalog inputs' bytes, checksums and replicas", () => {
    const isr = byId.get("mini-drp.isr.1")!;
    expect(isr.inputs).toEqual([
      { role: "raw", did: "hsc:raw/r_903334_16.fits", datasetType: "raw", dataId: { instrument: "HSC", exposure: 903334, detector: 16, tract: 9813, patch: 40 }, metadata: { obsTime: T }, bytes: 1000, adler32: "a-raw/r_903334_16.fits", md5: "m-raw/r_903334_16.fits", rses: ["site-a-disk", "site-b-disk"] },
      { role: "bias", did: "hsc:bias/b_16.fits", datasetType: "bias", dataId: { instrument: "HSC", detector: 16 }, metadata: {}, bytes: 100, adler32: "a-bias/b_16.fits", md5: "m-bias/b_16.fits", rses: ["site-a-disk", "site-b-disk"] },
    ]);
    const calibrate = byId.get("mini-drp.calibrate.1")!;
    expect(calibrate.inputs).toHaveLength(1);
    const input = calibrate.inputs[0]!;
    expect(input.producer).toBe("mini-drp.isr.1");
    expect(input.did).toBe(isr.outputs[0]!.did);
    expect(input.bytes).toBeUndefined(); // known only once the producer has run
    expect(isr.outputs).toEqual([{ role: "postISR", did: input.did, datasetType: "postISRCCD", dataId: { instrument: "HSC", exposure: 903334, detector: 16, tract: 9813, patch: 40 }, metadata: { obsTime: T } }]);
    // coadd reads every calexp, each from its calibrate quantum
    const coadd = byId.get("mini-drp.coadd.1")!;
    expect(coadd.inputs.map((x) => x.producer).sort()).toEqual(["mini-drp.calibrate.1", "mini-drp.calibrate.2", "mini-drp.calibrate.3", "mini-drp.calibrate.4"]);
    expect(coadd.inputs.map((x) => x.did).sort()).toEqual([1, 2, 3, 4].map((n) => byId.get(`mini-drp.calibrate.${n}`)!.outputs[0]!.did).sort());
  });

  it("starts each quantum with its task's memory and no attempts", () => {
    expect(rows.progress(row("mini-drp.isr.2"))).toEqual({ state: "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [] });
    expect(rows.progress(row("mini-drp.calibrate.2")).memoryMB).toBe(512);
    expect(rows.progress(row("mini-drp.coadd.1")).memoryMB).toBe(1024);
    expect(rows.runs.size).toBe(0);
    expect(rows.leased.size).toBe(0);
  });
});

describe("buildExpansion of a later (deferred) task", () => {
  // Submit expands isr and calibrate; coadd is expanded later from the calexps they made.
  const early = expansionSpec(spec, ["isr", "calibrate"]);
  const late = expansionSpec(spec, ["coadd"]);

  function ranEarly(failLast = false) {
    const first = buildExpansion(early, expandGraph(early, new Map([["raw", raws], ["bias", biases]])));
    const rows = new QuantumRows("mini-drp", taskMemoryOf(spec));
    rows.append(first);
    for (let r = 0; r < rows.length; r++) {
      const failed = failLast && r === rows.length - 1;
      rows.restore(r, { ...rows.progress(r), state: failed ? "FAILED" : "SUCCEEDED" });
      rows.runOf(r).produced = failed ? [] : first.definition(r).outputs.map((o) => ({ role: o.role, did: o.did, rse: "site-b-disk", bytes: 20, adler32: "2", md5: `made-${rows.id(r)}` }));
    }
    const done = Array.from({ length: rows.length }, (_, r) => ({ row: r, definition: first.definition(r), produced: rows.run(r)!.produced }));
    const produced = producedCatalog(done, ["calexp"]);
    const lateGraph = expandGraph(late, produced.catalog);
    const second = buildExpansion(late, lateGraph, { firstRow: rows.length, madeBy: produced.madeBy });
    return { first, rows, produced, lateGraph, second };
  }

  it("numbers on from the campaign's rows and links to the makers from before, by row and by id", () => {
    const { rows, second } = ranEarly();
    expect(rows.length).toBe(8);
    expect(second.ranges).toEqual([{ task: "coadd", start: 8, count: 1 }]);
    expect(second.count).toBe(1);
    expect(second.id(0)).toBe("mini-drp.coadd.1");
    expect(second.task(0)).toBe("coadd");
    const calibrates = ["mini-drp.calibrate.1", "mini-drp.calibrate.2", "mini-drp.calibrate.3", "mini-drp.calibrate.4"];
    expect([...second.upstream.rows].map((r) => rows.id(r)).sort()).toEqual(calibrates);
    const definition = second.definition(0);
    expect(definition.upstream.sort()).toEqual(calibrates);
    expect(definition.inputs.map((x) => x.producer).sort()).toEqual(calibrates);
    // the inputs are the files the makers produced, with what is known of them
    expect(definition.inputs.every((x) => x.md5 === `made-${x.producer}` && x.bytes === 20 && x.rses?.join() === "site-b-disk")).toBe(true);

    expect(rows.append(second)).toBe(8);
    expect(rows.id(8)).toBe("mini-drp.coadd.1");
    expect(rows.rowOf("mini-drp.coadd.1")).toBe(8);
    const ids = (list: Int32Array) => [...list].map((r) => rows.id(r));
    expect(ids(rows.upstream(8)).sort()).toEqual(calibrates);
    for (const id of calibrates) expect(ids(rows.downstream(rows.rowOf(id)!))).toEqual(["mini-drp.coadd.1"]);
    expect(rows.memoryMB(8)).toBe(1024);
  });

  it("chains identities through the makers: the same as expanding everything at once", () => {
    const { first, produced, lateGraph, second } = ranEarly();
    expect(second.identity(0)).toBe(graphIdentities(late, lateGraph, (did) => produced.madeBy.get(did)?.identity)[0]);
    expect(second.definition(0).identity).toBe(second.identity(0));
    const atOnce = graphIdentities(spec, graph);
    expect(Array.from({ length: first.count }, (_, i) => first.identity(i))).toEqual(atOnce.slice(0, 8));
    expect(second.identity(0)).toBe(atOnce[8]);
  });

  it("is READY once every maker from before is done, else PENDING", () => {
    const ok = ranEarly();
    ok.rows.append(ok.second);
    settleRows(ok.rows, 8, 9, new Map());
    expect(ok.rows.state(8)).toBe("READY");

    // a maker not done yet keeps it waiting
    const waiting = ranEarly();
    waiting.rows.restore(5, { ...waiting.rows.progress(5), state: "RUNNING" }); // calibrate.2
    waiting.rows.append(waiting.second);
    settleRows(waiting.rows, 8, 9, new Map());
    expect(waiting.rows.state(8)).toBe("PENDING");

    // only its makers count: the failed calibrate made nothing (coadd reads the other three), and an isr is not a maker
    const failed = ranEarly(true);
    expect([...failed.second.upstream.rows].map((r) => failed.rows.id(r)).sort()).toEqual(["mini-drp.calibrate.1", "mini-drp.calibrate.2", "mini-drp.calibrate.3"]);
    failed.rows.restore(3, { ...failed.rows.progress(3), state: "RUNNING" }); // isr.4
    failed.rows.append(failed.second);
    settleRows(failed.rows, 8, 9, new Map());
    expect(failed.rows.state(8)).toBe("READY");
  });
});
