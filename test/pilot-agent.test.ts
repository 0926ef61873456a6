// A pilot (`orrery agent --walltime D`, as a batch job starts it) on a real
// cluster: it is given only quanta whose time limit ends before it must
// leave, it leaves cleanly before its walltime ends (exit 0, nothing killed),
// and it gives its slot back when it has no work. No batch system is needed
// for this part; test/slurm-pilots.test.ts runs pilots through a real Slurm.
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roleEnv, startCluster, stopCluster } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { tempDir, until } from "./harness.js";
import { ORRERY_BIN, orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface QuantumJson {
  id: string;
  task: string;
  state: string;
  attempts: { agent: string; outcome: string }[];
}
interface AgentJson {
  id: string;
  batchJob?: string;
  leaveBy?: string;
}

/** A pilot agent as its own process; resolves with its exit code and when it exited. */
function startPilot(cluster: ClusterFile, dir: string, job: string, walltime: string, extra: string[] = []) {
  const home = join(dir, "pilots", job);
  mkdirSync(home, { recursive: true });
  const startMs = Date.now();
  const child = spawn(
    process.execPath,
    [ORRERY_BIN, "agent", "--site", "site-a", "--kind", "hpc", "--cores", "2", "--memory", "1024", "--prefetch", "0",
      "--walltime", walltime, "--batch-job", job, "--software-root", REPO_ROOT, "--work-dir", home, ...extra],
    { env: roleEnv(cluster, "agent", "site-a"), stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; afterMs: number; stderr: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, afterMs: Date.now() - startMs, stderr })),
  );
  return { id: `pilot-site-a-${job}`, exited, stderr: () => stderr, kill: () => child.kill("SIGKILL") };
}

function campaign(name: string, tasks: string): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
${tasks}
data: {scope: pl}
output: {scope: pl-out, run: ${name}/run1}
`;
}

const task = (name: string, out: string, seconds: number, timeLimit: string) => `    ${name}:
      command: [node, test/fixtures/payloads/copy-after.mjs, "${seconds}", "{inputs.frame}", "{outputs.o}"]
      dimensions: [detector]
      inputs: {frame: {datasetType: frame}}
      outputs: {o: {datasetType: ${out}}}
      resources: {cores: 1, memoryMB: 128, timeLimit: ${timeLimit}}
`;

describe("a pilot agent and its walltime", () => {
  let dir: string;
  let cluster: ClusterFile;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  beforeAll(async () => {
    dir = tempDir("pilot-agent");
    cluster = await startCluster({ dir, sites: 1, agents: 0, softwareRoot: REPO_ROOT, heartbeatMs: 500, leaseTtlMs: 3000 });
    const folder = join(dir, "frames");
    mkdirSync(folder, { recursive: true });
    const lines: string[] = [];
    for (let d = 0; d < 8; d++) {
      writeFileSync(join(folder, `frame_${d}.dat`), `frame ${d}\n`.repeat(100));
      lines.push(JSON.stringify({ path: `frame_${d}.dat`, scope: "pl", datasetType: "frame", dataId: { detector: d } }));
    }
    writeFileSync(join(folder, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(folder, "manifest.jsonl")]);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes only quanta that end before it must leave, leaves before its walltime, and is replaced", async () => {
    // 8 quanta of 2 s with a 4 s time limit; a 1 h task no pilot of 14 s may take.
    writeFileSync(join(dir, "walltime.yaml"), campaign("walltime", task("quick", "quickOut", 2, "4s") + task("long", "longOut", 0, "1h")));
    const submit = await cli(["submit", join(dir, "walltime.yaml")]);
    expect(submit.code, submit.stderr).toBe(0);

    // 14 s: it leaves by 9 s (5 s margin), so it takes quick quanta only until about 5 s in.
    const first = startPilot(cluster, dir, "901", "14s");
    await until("the pilot connects", async () => (await json<AgentJson[]>(["agents"])).some((a) => a.id === first.id), 15_000).catch((err: Error) => {
      throw new Error(`${err.message}; the pilot said: ${first.stderr()}`);
    });
    const listed = (await json<AgentJson[]>(["agents"])).find((a) => a.id === first.id)!;
    expect(listed.batchJob).toBe("901");
    expect(Date.parse(listed.leaveBy!)).toBeGreaterThan(Date.now());

    const gone = await first.exited;
    expect(gone.code, gone.stderr).toBe(0);
    // Gone before the walltime ended, not killed by it.
    expect(gone.afterMs).toBeLessThan(14_000);
    let quanta = await json<QuantumJson[]>(["quanta", "walltime"]);
    const ranFirst = quanta.filter((q) => q.attempts.some((a) => a.agent === first.id));
    expect(ranFirst.length).toBeGreaterThan(0);
    // Not all 8: the rest would have outlasted it.
    expect(ranFirst.length).toBeLessThan(8);
    expect(quanta.filter((q) => q.task === "long").every((q) => q.attempts.length === 0)).toBe(true);

    // A replacement pilot finishes the quick quanta, then leaves once idle.
    const second = startPilot(cluster, dir, "902", "60s", ["--idle-exit", "2s"]);
    const after = await second.exited;
    expect(after.code, after.stderr).toBe(0);
    quanta = await json<QuantumJson[]>(["quanta", "walltime"]);
    const quick = quanta.filter((q) => q.task === "quick");
    expect(quick.map((q) => q.state)).toEqual(Array(8).fill("SUCCEEDED"));
    // Every attempt succeeded at its first try: the walltime killed nothing, nothing was lost.
    expect(quick.flatMap((q) => q.attempts.map((a) => a.outcome))).toEqual(Array(8).fill("succeeded"));
    // The hour-long quanta wait for an agent that can hold them.
    expect(quanta.filter((q) => q.task === "long").map((q) => q.state)).toEqual(Array(8).fill("READY"));
    expect(after.afterMs).toBeLessThan(40_000);
  }, 90_000);
});
