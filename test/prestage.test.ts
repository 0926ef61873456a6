// Pre-staging on a real 2-site cluster: site-a holds the data and its one
// agent is busy, site-b's agent is idle. The coordinator asks the DBB for
// transient rules that bring the waiting quanta's inputs to site-b-disk.
// This branch's dbb has no transfer workers: the copy is made by ingesting
// the same files at site-b, which sends the replica events a transfer would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface RuleJson {
  did: string;
  rseExpression: string;
  copies: number;
  grouping: string;
  lifetimeSeconds: number | null;
}
interface QuantumJson {
  id: string;
  state: string;
  dataId: Record<string, unknown>;
  attempts: { site: string; outcome: string; start: string | null }[];
}

const RAWS = 10;

function campaign(name: string, extra: string): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    isr:
      command: [node, test/fixtures/payloads/copy-after.mjs, "4", "{inputs.raw}", "{outputs.out}"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {out: {datasetType: ${name}Out}}
      resources: {cores: 1, memoryMB: 100, diskMB: 100}
data: {scope: pre}
output: {scope: pre-out, run: ${name}/run1}
localityWait: 1h
${extra}
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const detectorOf = (did: string) => Number(/raw_(\d+)\.dat$/.exec(did)?.[1]);

describe("pre-staging on a real 2-site cluster", () => {
  let dir: string;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);
  const rules = () => json<RuleJson[]>(["dbb", "rule", "list"]);

  /** Ingests raw_d.dat for each detector at `rse` (the same bytes every time: a second RSE gets a second replica). */
  async function ingest(detectors: number[], rse: string): Promise<void> {
    const folder = join(dir, "raws");
    mkdirSync(folder, { recursive: true });
    const lines = detectors.map((d) => {
      writeFileSync(join(folder, `raw_${d}.dat`), `raw ${d}\n`.repeat(500));
      return JSON.stringify({ path: `raw_${d}.dat`, scope: "pre", datasetType: "raw", dataId: { detector: d } });
    });
    const manifest = join(folder, `${rse}.jsonl`);
    writeFileSync(manifest, `${lines.join("\n")}\n`);
    const r = await cli(["dbb", "ingest", "--rse", rse, "--manifest", manifest]);
    expect(r.code, r.stderr).toBe(0);
  }

  async function submit(name: string, text: string): Promise<void> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    const r = await cli(["submit", file]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }

  beforeAll(async () => {
    dir = tempDir("prestage");
    // One agent per site (agent-1 at site-a, agent-2 at site-b), 2 cores each, no prefetch: 2 quanta run at site-a, the rest wait.
    await startCluster({ dir, sites: 2, agents: 2, softwareRoot: REPO_ROOT, heartbeatMs: 300, agentCores: 2, agentPrefetch: 0, prestageIntervalMs: 300 });
    await ingest(Array.from({ length: RAWS }, (_, d) => d), "site-a-disk");
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks nothing for a campaign that turned pre-staging off", async () => {
    await submit("held", campaign("held", "prestage: false"));
    // Six passes or so.
    await sleep(2000);
    expect((await json<QuantumJson[]>(["quanta", "held"])).filter((q) => q.state === "READY")).toHaveLength(RAWS - 2);
    expect(await rules()).toEqual([]);
    expect((await cli(["cancel", "held"])).code).toBe(0);
  });

  let staged: number[] = [];

  it("asks transient rules at the idle site's RSE for the inputs of the quanta waiting at the busy site, each once", async () => {
    await submit("moved", campaign("moved", ""));
    let list: RuleJson[] = [];
    for (let i = 0; i < 100 && list.length < RAWS - 2; i++) {
      await sleep(200);
      list = await rules();
    }
    // Site-b has 2 cores: up to 2 × 4 quanta staged at once; 8 wait, so all of them.
    expect(list).toHaveLength(RAWS - 2);
    for (const r of list) expect(r).toMatchObject({ rseExpression: "site-b-disk", copies: 1, grouping: "NONE", lifetimeSeconds: 7200 });
    staged = list.map((r) => detectorOf(r.did)).sort((a, b) => a - b);
    expect(new Set(staged).size).toBe(RAWS - 2);
    // Not the inputs of the two quanta site-a started first (it may start staged ones since: they are still local to it).
    const started = (await json<QuantumJson[]>(["quanta", "moved"])).filter((q) => q.attempts.length > 0);
    const first = started.sort((a, b) => Date.parse(a.attempts[0]!.start ?? "") - Date.parse(b.attempts[0]!.start ?? "")).slice(0, 2);
    expect(first.map((q) => q.attempts[0]!.site)).toEqual(["site-a", "site-a"]);
    for (const q of first) expect(staged).not.toContain(Number(q.dataId["detector"]));
    // Later passes ask nothing more: every waiting quantum is staged.
    await sleep(1500);
    expect(await rules()).toHaveLength(RAWS - 2);
  });

  it("runs staged quanta at the idle site once their copies land there", async () => {
    // What a transfer worker would do: the bytes at site-b-disk, registered, a replica event on NATS.
    await ingest(staged, "site-b-disk");
    const r = await cli(["status", "moved", "--watch"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const quanta = await json<QuantumJson[]>(["quanta", "moved"]);
    expect(quanta.every((q) => q.state === "SUCCEEDED")).toBe(true);
    const atB = quanta.filter((q) => q.attempts.at(-1)!.site === "site-b").map((q) => Number(q.dataId["detector"]));
    // Site-b ran only quanta whose data it got, and it ran some: without the copies it would have run none in the hour's wait.
    expect(atB.length).toBeGreaterThanOrEqual(2);
    for (const d of atB) expect(staged).toContain(d);
  });
});
