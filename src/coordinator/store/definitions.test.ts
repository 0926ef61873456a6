import { describe, expect, it } from "vitest";
import { expandGraph, type CatalogFile } from "../campaign/graph.js";
import { parseCampaign } from "../campaign/spec.js";
import type { QuantumDefinition } from "../workload/model.js";
import { buildExpansion } from "../workload/quantum-builder.js";
import { DefinitionEncoder, parseDefinition } from "./definitions.js";

const definitionJson = (d: Parameters<DefinitionEncoder["encode"]>[0]) => new DefinitionEncoder().encode(d);

/** A coadd reading a catalog file and two files made upstream (one of them already with its bytes), writing two outputs. */
const coadd: QuantumDefinition = {
  id: "drp-2026.coadd_deep.12",
  campaign: "drp-2026",
  task: "coadd_deep",
  dataId: { instrument: "HSC", tract: 9813, patch: 41, band: "i" },
  identity: "0123456789abcdef0123456789abcdef",
  inputs: [
    {
      role: "skyMap",
      did: "hsc:skymaps/hsc_rings_v1.pickle",
      datasetType: "skyMap",
      dataId: { skymap: "hsc_rings_v1" },
      metadata: { validFrom: "2020-01-01T00:00:00Z", nested: { a: [1, 2, { b: null }] } },
      bytes: 123456789012,
      adler32: "0a1b2c3d",
      md5: "9e107d9d372bb6826bd81d3542a419d6",
      rses: ["site-a-disk", "site-b-tape"],
    },
    {
      role: "calexp",
      did: "hsc-drp:drp-2026/calexp/calexp_HSC_903334_0.fits",
      datasetType: "calexp",
      dataId: { instrument: "HSC", exposure: 903334, detector: 0 },
      metadata: {},
      producer: "drp-2026.calibrate.1",
    },
    {
      role: "calexp",
      did: "hsc-drp:drp-2026/calexp/calexp_HSC_903334_1.fits",
      datasetType: "calexp",
      dataId: { instrument: "HSC", exposure: 903334, detector: 1 },
      metadata: { obsTime: "2026-03-01T04:05:06Z" },
      producer: "drp-2026.calibrate.2",
      bytes: 20,
      adler32: "2",
      md5: "made-2",
      rses: [],
    },
  ],
  outputs: [
    { role: "coadd", did: "hsc-drp:drp-2026/deepCoadd/deepCoadd_9813_41_i.fits", datasetType: "deepCoadd", dataId: { instrument: "HSC", tract: 9813, patch: 41, band: "i" }, metadata: { obsTime: "2026-03-01T04:05:06Z", exposures: [903334, 903336] } },
    { role: "coaddNImage", did: "hsc-drp:drp-2026/deepCoadd_nImage/nImage_9813_41_i.fits", datasetType: "deepCoadd_nImage", dataId: { instrument: "HSC", tract: 9813, patch: 41, band: "i" }, metadata: {} },
  ],
  upstream: ["drp-2026.calibrate.1", "drp-2026.calibrate.2"],
};

describe("stored quantum definitions", () => {
  it("give back the definition they were made from: catalog inputs with bytes, checksums and RSEs, inputs with a producer, outputs with metadata", () => {
    const back = parseDefinition(coadd.id, definitionJson(coadd));
    expect(back).toStrictEqual(coadd);
  });

  it("take id, campaign and task from the field name, and keep a quantum with no inputs, outputs or makers", () => {
    const bare: QuantumDefinition = { id: "c.t.1", campaign: "c", task: "t", dataId: {}, identity: "ff".repeat(16), inputs: [], outputs: [], upstream: [] };
    expect(parseDefinition(bare.id, definitionJson(bare))).toStrictEqual(bare);
    const renamed = parseDefinition("other.isr.7", definitionJson(coadd));
    expect(renamed).toStrictEqual({ ...coadd, id: "other.isr.7", campaign: "other", task: "isr" });
  });

  it("round-trip what the builder makes, deferred inputs included", () => {
    const spec = parseCampaign({
      sourceName: "c.yaml",
      specYaml: `apiVersion: orrery/v1
kind: Campaign
name: defs
pipeline:
  tasks:
    isr:
      command: [node, isr.mjs]
      dimensions: [instrument, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs: {postISR: {datasetType: postISRCCD}}
    coadd:
      command: [node, coadd.mjs]
      dimensions: [instrument]
      inputs: {postISR: {datasetType: postISRCCD, multiple: true}}
      outputs: {coadd: {datasetType: deepCoadd}}
data: {scope: hsc}
output: {scope: out, run: defs/run1}
`,
    });
    const file = (datasetType: string, name: string, dataId: Record<string, string | number>, metadata: Record<string, unknown>): CatalogFile => ({
      scope: "hsc", name, datasetType, dataId, metadata, bytes: 100, adler32: `a-${name}`, md5: `m-${name}`, validFrom: "", validTo: "", rses: ["site-a-disk", "site-b-disk"],
    });
    const catalog = new Map([
      ["raw", [0, 1].map((d) => file("raw", `raw/r_${d}.fits`, { instrument: "HSC", detector: d }, { obsTime: "2026-03-01T04:05:06Z" }))],
      ["bias", [0, 1].map((d) => file("bias", `bias/b_${d}.fits`, { instrument: "HSC", detector: d }, {}))],
    ]);
    const e = buildExpansion(spec, expandGraph(spec, catalog));
    expect(e.count).toBe(3);
    // One encoder for all, as the store uses it: JSON it keeps of shared objects must stay right from one quantum to the next.
    const encoder = new DefinitionEncoder();
    for (let i = 0; i < e.count; i++) {
      const d = e.definition(i);
      expect(parseDefinition(e.id(i), encoder.encode(d))).toStrictEqual(d);
    }
    // The builder's definitions do carry what the stored form must keep.
    expect(e.definition(0).inputs.some((x) => x.bytes === 100 && x.rses?.length === 2)).toBe(true);
    expect(e.definition(2).inputs.every((x) => x.producer !== undefined)).toBe(true);
  });
});
