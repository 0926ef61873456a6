// Valid files the fuzzer starts from: the repository's example campaign, a
// campaign whose pipeline is its own file, a site policy and an ingest manifest.
import { readFileSync } from "node:fs";

export type SeedKind = "campaign" | "pipeline" | "policy" | "manifest";

export const EXAMPLE_CAMPAIGN = readFileSync(new URL("../../examples/mini-drp/campaign.yaml", import.meta.url), "utf8");

/** The example's pipeline as a file of its own, and a campaign that points to it. */
export const PIPELINE_FILE = `tasks:${EXAMPLE_CAMPAIGN.split("\n  tasks:")[1]!.split("\ndata:")[0]!}\n`.replace(/^ {2}/gm, "");
export const CAMPAIGN_WITH_PIPELINE_FILE = `apiVersion: orrery/v1
kind: Campaign
name: split-drp
pipeline: {file: pipeline.yaml}
data:
  scope: hsc
  where: {instrument: HSC, exposure: {in: [903334, 903336]}, detector: {range: [0, 49]}}
config: {isr.saturation: 60000}
retries: {failures: 3, kills: 10, unlessExit: [2], memoryMultiplier: 2, memoryMax: 16000}
sites: {allow: [site-a, site-b]}
output: {scope: hsc-drp, run: split-drp/run1}
`;

export const POLICY = `site: site-a
subscriptions:
  - name: raw-to-tape
    match: {scope: hsc, datasetType: [raw]}
    rules: [{rseExpression: "tier=custodial", copies: 1}]
  - name: outputs-to-b
    match: {scope: hsc-drp, datasetType: [calexp, deepCoadd]}
    rules: [{rseExpression: "site=site-b&tier=disk", copies: 1, lifetime: 30d}]
    retroactive: true
`;

export const MANIFEST = [
  { path: "raw/903334-0.fits", scope: "hsc", datasetType: "raw", dataId: { instrument: "HSC", exposure: 903334, detector: 0 }, metadata: { obsTime: "2026-03-01T01:00:00Z" } },
  { path: "raw/903334-1.fits", scope: "hsc", datasetType: "raw", dataId: { instrument: "HSC", exposure: 903334, detector: 1 } },
  { path: "bias/0.fits", scope: "hsc", datasetType: "bias", dataId: { instrument: "HSC", detector: 0 }, validFrom: "2026-01-01T00:00:00Z", validTo: null },
]
  .map((l) => JSON.stringify(l))
  .join("\n");

export const SEEDS: Record<SeedKind, string> = {
  campaign: EXAMPLE_CAMPAIGN,
  pipeline: PIPELINE_FILE,
  policy: POLICY,
  manifest: MANIFEST,
};
