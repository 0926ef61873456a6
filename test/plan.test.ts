// plan, schema, config and provenance as a user runs them, against a real
// local cluster with the mini-drp example data ingested (2 exposures × 4
// detectors; detectors 0–1 on patch 1, 2–3 on patch 2).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addAgent, startCluster, stopCluster } from "../src/common/local/cluster.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT, type CliResult } from "./cli-runner.js";

interface PlanJson {
  tasks: Record<string, { quanta: number; dropped: number }>;
  quanta: number;
  edges: number;
  inputs: { datasets: number; bytes: number };
}
type ConfigJson = Record<string, Record<string, { value: unknown; history: { value: unknown; source: string }[] }>>;
interface ManifestEntry {
  path: string;
  datasetType: string;
  dataId: Record<string, number | string>;
  validFrom: string | null;
}

const EXAMPLE = readFileSync(join(REPO_ROOT, "examples/mini-drp/campaign.yaml"), "utf8");
const OBSERVING_NIGHT = "2026-03-01T00:00:00Z"; // the biases valid when the raws were taken

/** The line (1-based) of the first line of `text` that starts with `prefix`. */
function lineOf(text: string, prefix: string): number {
  return text.split("\n").findIndex((l) => l.startsWith(prefix)) + 1;
}

describe("orrery plan, schema, config and provenance on a local cluster", () => {
  let dir: string;
  let cli: (args: string[]) => Promise<CliResult>;
  let json: <T>(args: string[]) => Promise<T>;
  let manifest: ManifestEntry[];
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** Bytes of the manifest entries `pick` selects, as the catalog has them. */
  const bytesOf = (pick: (m: ManifestEntry) => boolean): { datasets: number; bytes: number } => {
    const files = manifest.filter(pick);
    return { datasets: files.length, bytes: files.reduce((n, m) => n + statSync(join(dir, "input", m.path)).size, 0) };
  };

  beforeAll(async () => {
    dir = tempDir("plan");
    await startCluster({ dir, sites: 1, agents: 0, softwareRoot: REPO_ROOT });
    const clusterArgs = ["--cluster", join(dir, "cluster.json")];
    cli = (args) => orrery([...clusterArgs, ...args]);
    json = (args) => orreryJson([...clusterArgs, ...args]);
    execFileSync(process.execPath, [join(REPO_ROOT, "examples/mini-drp/generate.mjs"), join(dir, "input"), "--exposures", "2", "--detectors", "4", "--size", "16"]);
    const manifestPath = join(dir, "input", "manifest.jsonl");
    manifest = readFileSync(manifestPath, "utf8").trim().split("\n").map((l) => JSON.parse(l) as ManifestEntry);
    const ingest = await json<{ ingested: number }>(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", manifestPath]);
    expect(ingest.ingested).toBe(manifest.length);
  });

  afterAll(async () => {
    if (dir === undefined) return;
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("plan --json: 8 isr, 8 calibrate, 2 coadd quanta, 16 edges, the 8 raws and 4 biases of the night", async () => {
    const plan = await json<PlanJson>(["plan", join(REPO_ROOT, "examples/mini-drp/campaign.yaml")]);
    expect(plan).toEqual({
      tasks: { isr: { quanta: 8, dropped: 0 }, calibrate: { quanta: 8, dropped: 0 }, coadd: { quanta: 2, dropped: 0 } },
      quanta: 18,
      // calibrate ← its isr (8); each coadd ← the 4 calexps of its patch (2 × 4).
      edges: 16,
      inputs: bytesOf((m) => m.datasetType === "raw" || m.validFrom === OBSERVING_NIGHT),
    });
    expect(plan.inputs.datasets).toBe(12);
  });

  it("plan with data.where narrowed to one exposure", async () => {
    const narrowed = file("one-exposure.yaml", EXAMPLE.replace("where: {instrument: HSC}", "where: {instrument: HSC, exposure: 903334}"));
    const plan = await json<PlanJson>(["plan", narrowed]);
    expect(plan).toEqual({
      tasks: { isr: { quanta: 4, dropped: 0 }, calibrate: { quanta: 4, dropped: 0 }, coadd: { quanta: 2, dropped: 0 } },
      quanta: 10,
      edges: 8,
      inputs: bytesOf((m) => (m.datasetType === "raw" && m.dataId["exposure"] === 903334) || m.validFrom === OBSERVING_NIGHT),
    });
  });

  it("plan without --json summarises each task: quanta, dropped, upstream, dataset types", async () => {
    const r = await cli(["plan", join(REPO_ROOT, "examples/mini-drp/campaign.yaml")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("campaign mini-drp: 18 quanta, 16 edges, reads 12 datasets");
    expect(r.stdout).toMatch(/^isr\s+8\s+0\s+-\s+raw, bias \(calibration\)\s+postISRCCD$/m);
    expect(r.stdout).toMatch(/^calibrate\s+8\s+0\s+isr\s+postISRCCD\s+calexp$/m);
    expect(r.stdout).toMatch(/^coadd\s+2\s+0\s+calibrate\s+calexp\s+deepCoadd$/m);
  });

  it("plan --dot prints the quantum graph: 18 nodes in 3 task clusters, 16 edges", async () => {
    const r = await cli(["plan", join(REPO_ROOT, "examples/mini-drp/campaign.yaml"), "--dot"]);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith("digraph ")).toBe(true);
    expect(r.stdout.trimEnd().endsWith("}")).toBe(true);
    expect(r.stdout.match(/^\s+q\d+ \[label="/gm)).toHaveLength(18);
    expect(r.stdout.match(/ -> /g)).toHaveLength(16);
    expect(r.stdout.match(/subgraph "cluster_/g)).toHaveLength(3);
    expect(r.stdout).toContain('[label="isr\\ndetector=0, exposure=903334, instrument=HSC"]');
    expect(r.stdout).toContain('[label="coadd\\ninstrument=HSC, patch=1, tract=9813"]');
  });

  it("plan names task, role and data id of a planning error, exit 2", async () => {
    // Per detector only: two raws (one per exposure) where the role takes one.
    const coarse = file("coarse.yaml", EXAMPLE.replace("dimensions: [instrument, exposure, detector]", "dimensions: [instrument, detector]"));
    const r = await cli(["plan", coarse]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("task isr, role raw, data id detector=0,instrument=HSC: 2 raw datasets match");
  });

  it("refuses a bad campaign file with every FILE:LINE: path problem, exit 2, nothing stored", async () => {
    const text = EXAMPLE.replace("name: mini-drp", "name: Mini_DRP").replace("priority: 100", "priority: 5000").replace("reuse: true", "reuse: true\ncolour: blue");
    const bad = file("bad.yaml", text);
    for (const command of ["plan", "submit"]) {
      const r = await cli([command, bad]);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain(`${bad}:${lineOf(text, "name:")}: name: `);
      expect(r.stderr).toContain(`${bad}:${lineOf(text, "priority:")}: priority: `);
      expect(r.stderr).toContain(`${bad}:${lineOf(text, "colour:")}: colour: unknown field`);
    }
    expect(await json<unknown[]>(["status"])).toEqual([]);
  });

  it("plan stores nothing", async () => {
    expect(await json<unknown[]>(["status"])).toEqual([]);
  });

  it("schema prints the campaign file's JSON Schema without a cluster", async () => {
    const r = await orrery(["schema"], { env: { ...process.env, ORRERY_CLUSTER: join(dir, "no-such-cluster.json") } });
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { $schema: string; properties: Record<string, unknown>; required: string[] };
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["apiVersion", "kind", "name", "pipeline", "data", "config", "retries", "output"]));
    expect(schema.required).toEqual(expect.arrayContaining(["pipeline", "data", "output"]));
  });

  describe("after a submit", () => {
    // One exposure, one detector: isr, calibrate and coadd, one quantum each.
    const submitted = () =>
      EXAMPLE.replace("where: {instrument: HSC}", "where: {instrument: HSC, exposure: 903334, detector: 0}").replace("reuse: true", "reuse: true\nconfig: {isr.saturation: 62000}");
    let campaignFile: string;

    beforeAll(async () => {
      campaignFile = file("submitted.yaml", submitted());
      const res = await json<{ campaign: string; quanta: number }>(["submit", campaignFile, "--config", "isr.saturation=60000"]);
      expect(res).toEqual({ campaign: "mini-drp", quanta: 3 });
    });

    it("config --history --json: pipeline default, then campaign file, then --config, the last winning", async () => {
      const config = await json<ConfigJson>(["config", "mini-drp", "--history"]);
      expect(Object.keys(config)).toEqual(["isr", "calibrate", "coadd"]);
      expect(config["isr"]!["saturation"]).toEqual({
        value: 60000,
        history: [
          { value: 65000, source: `pipeline ${campaignFile}:${lineOf(submitted(), "      config: {doBias: true, saturation: 65000}")}` },
          { value: 62000, source: `campaign ${campaignFile}:${lineOf(submitted(), "config:")}` },
          { value: 60000, source: "--config" },
        ],
      });
      expect(config["isr"]!["doBias"]!.value).toBe(true);
      expect(config["coadd"]).toEqual({});
    });

    it("config without --json prints task.key = value lines, with --history each value's sources", async () => {
      const plain = await cli(["config", "mini-drp"]);
      expect(plain.code).toBe(0);
      expect(plain.stdout.split("\n")).toEqual(expect.arrayContaining(["isr.saturation = 60000", "isr.doBias = true", "calibrate.clipSigma = 3"]));
      const history = await cli(["config", "mini-drp", "--history"]);
      const lines = history.stdout.split("\n");
      const at = lines.indexOf("isr.saturation = 60000");
      expect(lines.slice(at + 1, at + 4).map((l) => l.trim().split(/\s+/).slice(0, 2).join(" "))).toEqual([
        "65000 pipeline",
        "62000 campaign",
        "60000 --config",
      ]);
    });

    it("config of an unknown campaign: exit 2 naming it", async () => {
      const r = await cli(["config", "no-such-campaign"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("no campaign named no-such-campaign");
    });

    it("provenance of a quantum that ran: the agent's record, pretty JSON", async () => {
      await addAgent(dir, "site-a", false);
      const watch = await cli(["status", "mini-drp", "--watch"]);
      expect(watch.code, watch.stderr).toBe(0);
      const quanta = await json<{ id: string; task: string; inputs: string[]; outputs: string[] }[]>(["quanta", "mini-drp", "--task", "isr"]);
      const isr = quanta[0]!;
      const r = await cli(["provenance", isr.id]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('\n  "quantum": ');
      const record = JSON.parse(r.stdout) as { quantum: string; task: string; attempt: number; outcome: string; config: Record<string, unknown>; inputs: { did: string }[]; outputs: { did: string }[] };
      expect(record).toMatchObject({ quantum: isr.id, task: "isr", attempt: 1, outcome: "succeeded" });
      expect(record.config["saturation"]).toBe(60000);
      expect(record.inputs.map((i) => i.did).sort()).toEqual([...isr.inputs].sort());
      expect(record.outputs.map((o) => o.did)).toEqual(isr.outputs);
      expect(JSON.parse((await cli(["provenance", isr.id, "--attempt", "1"])).stdout)).toEqual(record);
      const missing = await cli(["provenance", isr.id, "--attempt", "2"]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`no provenance for attempt 2 of ${isr.id}`);
    });
  });
});
