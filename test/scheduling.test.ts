// The scheduler on a real 2-site cluster: quanta run where their data is,
// an agent's cache draws the quanta that read it, priority bands are strict
// and shares are fair, spot agents never get non-preemptible work, and what
// no agent can run is reported instead of waiting silently.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface Attempt {
  agent: string;
  site: string;
  outcome: string;
  start: string | null;
}
interface QuantumJson {
  id: string;
  task: string;
  dataId: Record<string, unknown>;
  state: string;
  attempts: Attempt[];
}
interface StatusJson {
  state: string;
  counts: Record<string, number>;
  unschedulable: { task: string; quanta: number; reason: string }[];
}

const task = (name: string, input: string, output: string, seconds: number, extra = "") =>
  `    ${name}:
      command: [node, test/fixtures/payloads/copy-after.mjs, "${seconds}", "{inputs.${input}}", "{outputs.out}"]
      dimensions: [detector]
      inputs: {${input}: {datasetType: ${input}}}
      outputs: {out: {datasetType: ${output}}}
      resources: {cores: 1, memoryMB: 100, diskMB: 100}
${extra}`;

function campaign(name: string, scope: string, tasks: string, extra = ""): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
${tasks}
data: {scope: ${scope}}
output: {scope: ${scope}-out, run: ${name}/run1}
${extra}
`;
}

const startOf = (a: Attempt) => Date.parse(a.start ?? "");

describe("scheduling on a real 2-site cluster", () => {
  let dir: string;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  /** Writes N small files and ingests them: detector d at `site(d)`. */
  async function ingest(scope: string, type: string, n: number, site: (d: number) => string): Promise<void> {
    const bySite = new Map<string, string[]>();
    const folder = join(dir, `${scope}-${type}`);
    mkdirSync(folder, { recursive: true });
    for (let d = 0; d < n; d++) {
      writeFileSync(join(folder, `${type}_${d}.dat`), `${type} ${d}\n`.repeat(200 + d));
      const line = JSON.stringify({ path: `${type}_${d}.dat`, scope, datasetType: type, dataId: { detector: d } });
      (bySite.get(site(d)) ?? bySite.set(site(d), []).get(site(d))!).push(line);
    }
    for (const [s, lines] of bySite) {
      const manifest = join(folder, `${s}.jsonl`);
      writeFileSync(manifest, `${lines.join("\n")}\n`);
      const r = await cli(["dbb", "ingest", "--rse", `${s}-disk`, "--manifest", manifest]);
      expect(r.code, r.stderr).toBe(0);
    }
  }

  async function submit(name: string, text: string, wait = true): Promise<void> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    const r = await cli(["submit", file, ...(wait ? ["--wait"] : [])]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  }

  beforeAll(async () => {
    dir = tempDir("scheduling");
    // 2 sites × 2 agents of 2 cores; the last agent (at site-b) is spot. No prefetch: the order
    // checked here is the scheduler's own, not blurred by leases handed out ahead of free cores.
    await startCluster({ dir, sites: 2, agents: 4, spot: 1, softwareRoot: REPO_ROOT, heartbeatMs: 300, agentCores: 2, agentPrefetch: 0, localityDelayMs: 5000 });
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs isr and calibrate at the site holding their data", async () => {
    // Detectors 0..7 only at site-a, 8..15 only at site-b.
    await ingest("loc", "raw", 16, (d) => (d < 8 ? "site-a" : "site-b"));
    await submit("locality", campaign("locality", "loc", task("isr", "raw", "post", 0.2) + task("calibrate", "post", "calexp", 0.2)));
    const quanta = await json<QuantumJson[]>(["quanta", "locality"]);
    expect(quanta).toHaveLength(32);
    const away = quanta.filter((q) => {
      const last = q.attempts[q.attempts.length - 1]!;
      expect(last.outcome).toBe("succeeded");
      return last.site !== (Number(q.dataId["detector"]) < 8 ? "site-a" : "site-b");
    });
    // At most one in eight elsewhere.
    expect(away.length, away.map((q) => q.id).join(", ")).toBeLessThanOrEqual(4);
  });

  it("gives the consumers of cached files to the agent that caches them", async () => {
    const first = await json<QuantumJson[]>(["quanta", "locality", "--task", "isr"]);
    const cachedBy = new Map(first.map((q) => [Number(q.dataId["detector"]), q.attempts[q.attempts.length - 1]!.agent]));
    // Heartbeats (300 ms) carry the cache deltas; let them land.
    await new Promise((r) => setTimeout(r, 1000));
    await submit("cache-reuse", campaign("cache-reuse", "loc", task("again", "raw", "again", 0.2)));
    const again = await json<QuantumJson[]>(["quanta", "cache-reuse"]);
    const onCacher = again.filter((q) => q.attempts[q.attempts.length - 1]!.agent === cachedBy.get(Number(q.dataId["detector"])));
    expect(onCacher.length).toBeGreaterThanOrEqual(12); // of 16
  });

  it("serves a higher priority strictly first and shares a band by weight (3:1 within 10%)", async () => {
    await ingest("fair", "frame", 60, (d) => (d % 2 === 0 ? "site-a" : "site-b"));
    const quick = (name: string, extra: string) => campaign(name, "fair", task("work", "frame", `${name}Out`, 0.3), `localityWait: 0s\n${extra}`);
    // low has twice the work (a second task after the first), so it is still starting quanta once the others are done.
    const low = campaign("low", "fair", task("work", "frame", "lowOut", 0.3) + task("more", "lowOut", "lowMore", 0.3), "localityWait: 0s\npriority: 100");
    await submit("low", low, false);
    await new Promise((r) => setTimeout(r, 1500));
    await submit("high", quick("high", "priority: 500"), false);
    // Queued from here on (submit returns once the campaign is stored).
    const highAt = Date.now();
    // heavy and light have two tasks each (120 quanta): enough starts for ±10% to mean something.
    const shared = (name: string, extra: string) =>
      campaign(name, "fair", task("work", "frame", `${name}Out`, 0.3) + task("more", `${name}Out`, `${name}More`, 0.3), `localityWait: 0s\n${extra}`);
    await Promise.all([submit("heavy", shared("heavy", "priority: 300\nshare: 3"), false), submit("light", shared("light", "priority: 300\nshare: 1"), false)]);
    for (const name of ["high", "heavy", "light", "low"]) {
      const r = await cli(["status", name, "--watch"]);
      expect(r.code, r.stderr).toBe(0);
    }
    const starts = async (name: string) => (await json<QuantumJson[]>(["quanta", name])).map((q) => startOf(q.attempts[q.attempts.length - 1]!)).sort((a, b) => a - b);
    const [lowStarts, high, heavy, light] = await Promise.all(["low", "high", "heavy", "light"].map(starts));
    // No low quantum started after high was queued until every high quantum had started (1 s for leases in flight).
    const lowAfter = lowStarts!.filter((t) => t > highAt + 1000);
    expect(lowAfter.length).toBeGreaterThan(0);
    expect(Math.max(...high!)).toBeLessThanOrEqual(Math.min(...lowAfter));
    // While both had work, in steady state (from light's fifth start, once the shares have evened out
    // what ran before light arrived, until heavy had fewer quanta left to start than its 6 of the 8
    // cores, after which light takes the spare cores by design): heavy and light started 3:1.
    const from = Math.max(heavy![0]!, light![4]!);
    const until = heavy![heavy!.length - 6]!;
    const heavyDuring = heavy!.filter((t) => t >= from && t < until).length;
    const lightDuring = light!.filter((t) => t >= from && t < until).length;
    const ratio = heavyDuring / lightDuring;
    expect(ratio, `heavy ${heavyDuring} : light ${lightDuring}`).toBeGreaterThanOrEqual(2.7);
    expect(ratio, `heavy ${heavyDuring} : light ${lightDuring}`).toBeLessThanOrEqual(3.3);
    // Four campaigns of real payloads one after another: about 50 s on a quiet machine.
  }, 120_000);

  it("moves waiting quanta when the DBB reports a new replica of their inputs", async () => {
    // site-a's agents are busy with a long campaign; the data sits only at site-a, and the campaign waits up to an hour for it.
    await ingest("moved", "raw", 4, () => "site-a");
    const blocker = campaign("blocker", "loc", task("hold", "raw", "held", 30), "priority: 900\nsites: {allow: [site-a]}");
    await submit("blocker", blocker, false);
    // Without pre-staging, which would copy the data to idle site-b itself (test/prestage.test.ts): here the copy comes from outside.
    const waiting = campaign("waiting", "moved", task("isr", "raw", "post", 0.1), "localityWait: 1h\nprestage: false");
    await submit("waiting", waiting, false);
    await new Promise((r) => setTimeout(r, 2000));
    expect((await json<StatusJson>(["status", "waiting"])).counts["READY"]).toBe(4);
    // A copy at site-b: its replica events make site-b's agents local to the data.
    await ingest("moved", "raw", 4, () => "site-b");
    const r = await cli(["status", "waiting", "--watch"]);
    expect(r.code, r.stderr).toBe(0);
    const quanta = await json<QuantumJson[]>(["quanta", "waiting"]);
    expect(quanta.map((q) => q.attempts[q.attempts.length - 1]!.site)).toEqual(["site-b", "site-b", "site-b", "site-b"]);
    expect((await cli(["cancel", "blocker"])).code).toBe(0);
  });

  it("never runs a non-preemptible task on the spot agent", async () => {
    await submit("pinned", campaign("pinned", "loc", task("steady", "raw", "steady", 0.1, "      preemptible: false\n")));
    const quanta = await json<QuantumJson[]>(["quanta", "pinned"]);
    expect(quanta).toHaveLength(16);
    expect(quanta.every((q) => q.attempts.every((a) => !a.agent.endsWith("-spot")))).toBe(true);
    // Preemptible work does reach it (the fair campaigns above ran there too).
    const earlier = (await Promise.all(["low", "high", "heavy", "light"].map((c) => json<QuantumJson[]>(["quanta", c])))).flat();
    expect(earlier.some((q) => q.attempts.some((a) => a.agent.endsWith("-spot")))).toBe(true);
  });

  it("reports quanta no agent can run, naming what they need", async () => {
    const big = `    big:
      command: [node, test/fixtures/payloads/copy-after.mjs, "0", "{inputs.raw}", "{outputs.out}"]
      dimensions: [detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {out: {datasetType: bigOut}}
      resources: {cores: 1, memoryMB: 100, diskMB: 50000}
`;
    await submit("too-big", campaign("too-big", "loc", big), false);
    let status: StatusJson | undefined;
    for (let i = 0; i < 50 && !(status?.unschedulable.length); i++) {
      status = await json<StatusJson>(["status", "too-big"]);
      if (!status.unschedulable.length) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status!.unschedulable).toEqual([{ task: "big", quanta: 16, reason: expect.stringContaining("50000 MB disk") as string }]);
    expect(status!.counts["READY"]).toBe(16);
    const text = await cli(["status", "too-big"]);
    expect(text.stdout).toMatch(/unschedulable: 16 quanta of big: needs 1 cores, 100 MB memory, 50000 MB disk; the largest connected agent that may run it has 2 cores, 2048 MB, 10000 MB disk/);
  });
});
