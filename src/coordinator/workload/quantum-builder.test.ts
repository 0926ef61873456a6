import { describe, expect, it } from "vitest";
import type { DataId } from "../../common/data-id.js";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { parseCampaign } from "../campaign/spec.js";
import { buildQuanta } from "./quantum-builder.js";

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
const quanta = buildQuanta(spec, graph);
const byId = new Map(quanta.map((q) => [q.id, q]));

describe("buildQuanta", () => {
  it("numbers quanta per task within the campaign", () => {
    expect(quanta.map((q) => q.id)).toEqual([
      "mini-drp.isr.1",
      "mini-drp.isr.2",
      "mini-drp.isr.3",
      "mini-drp.isr.4",
      "mini-drp.calibrate.1",
      "mini-drp.calibrate.2",
      "mini-drp.calibrate.3",
      "mini-drp.calibrate.4",
      "mini-drp.coadd.1",
    ]);
    for (const q of quanta) expect(q.campaign).toBe("mini-drp");
  });

  it("makes only quanta without upstream READY; the rest wait PENDING", () => {
    expect(quanta.map((q) => [q.id, q.progress.state]).filter(([, s]) => s === "READY").map(([id]) => id)).toEqual(["mini-drp.isr.1", "mini-drp.isr.2", "mini-drp.isr.3", "mini-drp.isr.4"]);
    expect(quanta.filter((q) => q.task !== "isr").every((q) => q.progress.state === "PENDING")).toBe(true);
  });

  it("links upstream and downstream by id, both ways", () => {
    const coadd = byId.get("mini-drp.coadd.1")!;
    expect(coadd.upstream.sort()).toEqual(["mini-drp.calibrate.1", "mini-drp.calibrate.2", "mini-drp.calibrate.3", "mini-drp.calibrate.4"]);
    expect(coadd.downstream).toEqual([]);
    for (let n = 1; n <= 4; n++) {
      const isr = byId.get(`mini-drp.isr.${n}`)!;
      const calibrate = byId.get(`mini-drp.calibrate.${n}`)!;
      expect(isr.upstream).toEqual([]);
      expect(isr.downstream).toEqual([calibrate.id]);
      expect(calibrate.upstream).toEqual([isr.id]);
      expect(calibrate.downstream).toEqual(["mini-drp.coadd.1"]);
      expect(calibrate.dataId).toEqual(isr.dataId);
    }
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
  });

  it("starts each quantum with its task's memory and no attempts", () => {
    expect(byId.get("mini-drp.isr.2")!.progress).toEqual({ state: "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 256, readyAtMs: 0, produced: [] });
    expect(byId.get("mini-drp.calibrate.2")!.progress.memoryMB).toBe(512);
    expect(byId.get("mini-drp.coadd.1")!.progress.memoryMB).toBe(1024);
  });
});
