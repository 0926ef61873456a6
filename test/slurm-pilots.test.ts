// HPC pilots through a real Slurm (`local up --sites 1 --agents 0 --slurm`):
// the factory keeps pilot jobs queued while site-hpc has work, the pilots
// (agents started by sbatch) run the campaign, pilots whose walltime is
// shorter than the campaign are replaced without losing an attempt, and once
// the work is done no job is left queued.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { SlurmBatch } from "../src/pilots/batch/slurm.js";
import { jobName } from "../src/pilots/factory.js";
import { tempDir, until } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface QuantumJson {
  task: string;
  state: string;
  attempts: { agent: string; outcome: string }[];
}
interface StatusJson {
  state: string;
  failures: number;
  kills: number;
}
interface AgentJson {
  id: string;
  site: string;
  kind: string;
  batchJob?: string;
}

const campaign = (name: string, seconds: number, timeLimit: string) => `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    copy:
      command: [node, test/fixtures/payloads/copy-after.mjs, "${seconds}", "{inputs.frame}", "{outputs.o}"]
      dimensions: [detector]
      inputs: {frame: {datasetType: frame}}
      outputs: {o: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128, timeLimit: ${timeLimit}}
data: {scope: hpc}
output: {scope: hpc-out, run: ${name}/run1}
`;

describe("pilots through a real Slurm", () => {
  let dir: string;
  let cluster: ClusterFile;
  let slurm: SlurmBatch;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);
  const factoryJobs = () => slurm.status(jobName("site-hpc"));

  beforeAll(async () => {
    dir = tempDir("slurm-pilots");
    // Pilots of 2 cores (2 at most, the node's 4 CPUs) that live 22 s and leave after 3 s without work.
    cluster = await startCluster({ dir, sites: 1, agents: 0, slurm: true, softwareRoot: REPO_ROOT, heartbeatMs: 500, pilots: { walltimeS: 22, idleExitS: 3, intervalS: 1 } });
    slurm = new SlurmBatch({ conf: cluster.slurm!.conf });
    const folder = join(dir, "frames");
    mkdirSync(folder, { recursive: true });
    const lines: string[] = [];
    for (let d = 0; d < 40; d++) {
      writeFileSync(join(folder, `frame_${d}.dat`), `frame ${d}\n`.repeat(50));
      lines.push(JSON.stringify({ path: `frame_${d}.dat`, scope: "hpc", datasetType: "frame", dataId: { detector: d } }));
    }
    writeFileSync(join(folder, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(folder, "manifest.jsonl")]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps no pilot queued while there is no work", async () => {
    await new Promise((r) => setTimeout(r, 2500));
    expect(await factoryJobs()).toEqual([]);
  });

  it("runs a campaign only on pilot agents, with no kill and no failure", async () => {
    writeFileSync(join(dir, "first.yaml"), campaign("first", 0.2, "10s"));
    const submit = await cli(["submit", join(dir, "first.yaml")]);
    expect(submit.code, submit.stderr).toBe(0);
    let pilots: AgentJson[] = [];
    await until("a pilot connects", async () => (pilots = await json<AgentJson[]>(["agents"])).length > 0, 30_000);
    // A pilot is an hpc agent of site-hpc that names its Slurm job.
    expect(pilots[0]).toMatchObject({ site: "site-hpc", kind: "hpc", batchJob: expect.stringMatching(/^\d+$/) as unknown as string });
    const done = await cli(["status", "first", "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    const status = await json<StatusJson>(["status", "first"]);
    expect(status).toMatchObject({ state: "SUCCEEDED", failures: 0, kills: 0 });
    const attempts = (await json<QuantumJson[]>(["quanta", "first"])).flatMap((q) => q.attempts);
    expect(attempts).toHaveLength(40);
    expect(attempts.every((a) => a.agent.startsWith("pilot-site-hpc-") && a.outcome === "succeeded")).toBe(true);
  }, 90_000);

  it("replaces pilots whose walltime is shorter than the campaign, loses no attempt, and leaves no job queued", async () => {
    // 40 quanta of 2 s on at most 4 pilot cores: about 20 s of work, longer than a pilot's 17 s of work time.
    writeFileSync(join(dir, "long.yaml"), campaign("long", 2, "4s"));
    const submit = await cli(["submit", join(dir, "long.yaml"), "--wait"]);
    expect(submit.code, submit.stderr + submit.stdout).toBe(0);
    const quanta = await json<QuantumJson[]>(["quanta", "long"]);
    expect(quanta.map((q) => q.state)).toEqual(Array(40).fill("SUCCEEDED"));
    const attempts = quanta.flatMap((q) => q.attempts);
    // Every quantum ran once and succeeded: no walltime kill, nothing lost or preempted.
    expect(attempts.map((a) => a.outcome)).toEqual(Array(40).fill("succeeded"));
    const jobs = new Set(attempts.map((a) => a.agent));
    // More pilots than ever ran at once: some replaced others that left before their walltime.
    expect(jobs.size).toBeGreaterThan(2);
    expect(await json<StatusJson>(["status", "long"])).toMatchObject({ failures: 0, kills: 0 });
    // Done: the factory cancels what is queued, and idle pilots leave.
    await until("no pilot job queued", async () => (await factoryJobs()).every((j) => j.state !== "pending"), 10_000);
    await until("every pilot gone", async () => (await factoryJobs()).every((j) => j.state !== "pending" && j.state !== "running"), 30_000);
    expect(await json<AgentJson[]>(["agents"])).toEqual([]);
  }, 150_000);
});
