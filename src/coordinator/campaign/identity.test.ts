import { describe, expect, it } from "vitest";
import type { DataId } from "../../common/data-id.js";
import { expandGraph, type CatalogFile } from "./graph.js";
import { canonicalJson, graphIdentityBytes, identityHex, quantumIdentity, type IdentityParts } from "./identity.js";
import { parseCampaign, type CampaignSpec } from "./spec.js";

/** Identities of a planned graph as hex, in its order. */
function graphIdentities(...args: Parameters<typeof graphIdentityBytes>): string[] {
  const bytes = graphIdentityBytes(...args);
  return args[1].quanta.map((_, i) => identityHex(bytes, i));
}

function campaign(overrides: string[] = [], isrCommand = "[node, isr.mjs]"): CampaignSpec {
  const yaml = `apiVersion: orrery/v1
kind: Campaign
name: identity-test
pipeline:
  tasks:
    isr:
      command: ${isrCommand}
      dimensions: [instrument, exposure, detector]
      inputs:
        raw: {datasetType: raw}
        bias: {datasetType: bias, calibration: true}
      outputs: {postISR: {datasetType: postISRCCD}}
      config: {doBias: true, saturation: 65000}
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
data: {scope: hsc}
output: {scope: hsc-drp, run: identity-test/run1}
`;
  return parseCampaign({ specYaml: yaml, sourceName: "campaign.yaml", configOverrides: overrides });
}

const T = "2026-03-01T04:05:06Z";
function file(datasetType: string, name: string, dataId: DataId, md5: string, obsTime?: string): CatalogFile {
  return { scope: "hsc", name, datasetType, dataId, metadata: obsTime ? { obsTime } : {}, bytes: 100, adler32: "1", md5, validFrom: "", validTo: "", rses: ["site-a-disk"] };
}
// 2 exposures × 4 detectors; detectors 0–1 on patch 1, 2–3 on patch 2.
function catalog(rawMd5: (exposure: number, detector: number) => string = () => "raw-md5"): Map<string, CatalogFile[]> {
  const raws = [903334, 903336].flatMap((exposure) =>
    [0, 1, 2, 3].map((detector) => file("raw", `raw/r_${exposure}_${detector}.fits`, { instrument: "HSC", exposure, detector, tract: 9813, patch: 1 + (detector >> 1) }, rawMd5(exposure, detector), T)),
  );
  const biases = [0, 1, 2, 3].map((detector) => file("bias", `bias/b_${detector}.fits`, { instrument: "HSC", detector }, `bias-md5-${detector}`));
  return new Map([
    ["raw", raws],
    ["bias", biases],
  ]);
}

/** Identities by "task dataId" of a campaign over a catalog. */
function identities(spec: CampaignSpec, cat: Map<string, CatalogFile[]>): Map<string, string> {
  const graph = expandGraph(spec, cat);
  const ids = graphIdentities(spec, graph);
  return new Map(graph.quanta.map((q, i) => [`${q.task} ${JSON.stringify(q.dataId)}`, ids[i]!]));
}

const PARTS: IdentityParts = {
  task: "isr",
  config: { saturation: 65000, doBias: true },
  dataId: { instrument: "HSC", exposure: 903334, detector: 0 },
  command: ["node", "isr.mjs"],
  inputs: [
    { role: "raw", token: { md5: "aaaa" } },
    { role: "bias", token: { md5: "bbbb" } },
  ],
};

describe("quantum identity", () => {
  it("is a 32-character hex hash, equal for equal parts whatever the key order", () => {
    const id = quantumIdentity(PARTS);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const reordered: IdentityParts = { ...PARTS, config: { doBias: true, saturation: 65000 }, dataId: { detector: 0, exposure: 903334, instrument: "HSC" } };
    expect(quantumIdentity(reordered)).toBe(id);
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: 3 } })).toBe('{"a":{"c":3,"d":[2,{"e":0,"f":1}]},"b":1}');
  });

  it("keeps the exact values of earlier versions (stored identities resume and dedup against them)", () => {
    // Pinned before a rewrite of how identities are hashed: any change here breaks resume of existing campaigns.
    expect(quantumIdentity(PARTS)).toBe("fc390cf585eb2f071d91e9a415b18cdb");
    expect(quantumIdentity({ ...PARTS, config: {}, command: [], inputs: [{ role: "raw", token: { producer: "p", datasetType: "raw" } }] })).toBe("c1a413118e73cb8bc3bf244b764366b1");
    const ids = identities(campaign(["isr.nested={a: [1, {c: 2, b: null}]}"]), catalog());
    expect(ids.get('isr {"instrument":"HSC","exposure":903334,"detector":0}')).toBe("7182e9e5de8a70a61215692a497b5de6");
    expect(ids.get('calibrate {"instrument":"HSC","exposure":903336,"detector":3}')).toBe("b7ff948bac049e5f6e407d38e8da896a");
    expect(ids.get('coadd {"instrument":"HSC","tract":9813,"patch":2}')).toBe("33b40e0078e730586022719464eb6240");
  });

  it("changes with the task, config, data id, command and each input md5", () => {
    const id = quantumIdentity(PARTS);
    const variants: IdentityParts[] = [
      { ...PARTS, task: "isr2" },
      { ...PARTS, config: { ...PARTS.config, saturation: 60000 } },
      { ...PARTS, dataId: { ...PARTS.dataId, detector: 1 } },
      { ...PARTS, command: ["node", "isr.mjs", "--fast"] },
      { ...PARTS, inputs: [PARTS.inputs[0]!, { role: "bias", token: { md5: "cccc" } }] },
      { ...PARTS, inputs: [{ role: "raw", token: { md5: "aaab" } }, PARTS.inputs[1]!] },
      { ...PARTS, inputs: [{ role: "raw", token: { producer: "aaaa", datasetType: "raw" } }, PARTS.inputs[1]!] },
    ];
    const ids = variants.map(quantumIdentity);
    for (const v of ids) expect(v).not.toBe(id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is the same for every quantum when a campaign is planned twice over the same catalog", () => {
    const a = identities(campaign(), catalog());
    const b = identities(campaign(), catalog());
    expect(a.size).toBe(8 + 8 + 2);
    expect(b).toEqual(a);
    expect(new Set(a.values()).size).toBe(a.size);
  });

  it("follows config overrides into the task's quanta and, through the chain, everything downstream", () => {
    const base = identities(campaign(), catalog());
    const changed = identities(campaign(["calibrate.clipSigma=2"]), catalog());
    for (const [key, id] of base) {
      if (key.startsWith("isr ")) expect(changed.get(key), key).toBe(id);
      else expect(changed.get(key), key).not.toBe(id);
    }
  });

  it("changes exactly the identities downstream of a raw whose md5 changed (Merkle chain)", () => {
    const base = identities(campaign(), catalog());
    const changed = identities(
      campaign(),
      catalog((e, d) => (e === 903334 && d === 2 ? "new-md5" : "raw-md5")),
    );
    const differ = [...base].filter(([key, id]) => changed.get(key) !== id).map(([key]) => key);
    expect(differ.sort()).toEqual(
      [
        'isr {"instrument":"HSC","exposure":903334,"detector":2}',
        'calibrate {"instrument":"HSC","exposure":903334,"detector":2}',
        'coadd {"instrument":"HSC","tract":9813,"patch":2}',
      ].sort(),
    );
  });

  it("chains through files made by the campaign's own quanta when they come from the catalog (deferred tasks)", () => {
    const spec = campaign();
    const graph = expandGraph(spec, catalog());
    const plain = graphIdentities(spec, graph);
    const viaMaker = graphIdentities(spec, graph, (did) => (did === "hsc:raw/r_903334_0.fits" ? "maker-identity" : undefined));
    const differ = graph.quanta.filter((_, i) => viaMaker[i] !== plain[i]).map((q) => `${q.task} ${JSON.stringify(q.dataId)}`);
    expect(differ).toEqual([
      'isr {"instrument":"HSC","exposure":903334,"detector":0}',
      'calibrate {"instrument":"HSC","exposure":903334,"detector":0}',
      'coadd {"instrument":"HSC","tract":9813,"patch":1}',
    ]);
  });
});
