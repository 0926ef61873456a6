// `local up --slurm` and SlurmBatch against the real Slurm it starts (munged,
// slurmctld, slurmd under the cluster dir): jobs submitted, listed, cancelled,
// and nothing of Slurm left once the cluster is down.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { natsAuthOf, startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import { readCluster } from "../src/common/local/cluster-store.js";
import { isAlive } from "../src/common/local/child.js";
import { slurmJobSteps } from "../src/common/local/slurm.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { connectNats } from "../src/common/nats.js";
import { slurmCommand } from "../src/common/slurm-command.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { SlurmBatch } from "../src/pilots/batch/slurm.js";
import type { BatchJob } from "../src/pilots/batch/batch-system.js";
import { tempDir, until } from "./harness.js";
import { orrery } from "./cli-runner.js";

/** Live processes whose command line mentions `text`. */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmd.includes(text) && isAlive(Number(pid))) found.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

describe("a real local Slurm (local up --slurm)", () => {
  let dir: string;
  let cluster: ClusterFile;
  let batch: SlurmBatch;
  const tag = randomBytes(4).toString("hex");
  const spec = (name: string, argv: string[], env: Record<string, string> = {}) => ({
    name: `orrery-test-${tag}-${name}`, argv, env, walltimeS: 90, cores: 1, memoryMB: 100, partition: "hpc",
    workDir: join(dir, "jobs", name), logFile: join(dir, "jobs", `${name}.log`),
  });
  const jobs = (name = "") => batch.status(`orrery-test-${tag}-${name}`);
  const stateOf = async (id: string): Promise<BatchJob["state"] | "gone"> => (await jobs()).find((j) => j.id === id)?.state ?? "gone";

  beforeAll(async () => {
    dir = tempDir("slurm");
    const t0 = Date.now();
    cluster = await startCluster({ dir, sites: 1, agents: 0, slurm: true });
    console.log(`local up --slurm took ${Date.now() - t0} ms`);
    batch = new SlurmBatch({ conf: cluster.slurm!.conf });
  });
  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("starts munged, slurmctld and slurmd, and site-hpc with its own S3 and RSE but no agent", async () => {
    expect(existsSync(cluster.slurm!.conf)).toBe(true);
    const slurm = cluster.processes.filter((p) => p.role === "slurm").map((p) => p.name);
    expect(slurm.sort()).toEqual(["munge", "slurmctld", "slurmd"]);
    expect(cluster.processes.filter((p) => p.role !== "agent").every((p) => isAlive(p.pid))).toBe(true);
    expect(cluster.sites).toEqual(["site-a", "site-hpc"]);
    expect(cluster.s3["site-hpc"]).not.toEqual(cluster.s3["site-a"]);
    expect(cluster.security?.s3?.["site-hpc"]).toBeDefined();
    expect(cluster.processes.some((p) => p.role === "agent")).toBe(false);
    useClusterSecrets(cluster);
    const nc = await connectNats(cluster.nats, "slurm-test", natsAuthOf(cluster));
    try {
      const rses = await new DbbClient(nc).rseList("site-hpc");
      expect(rses.map((r) => r.name)).toEqual(["site-hpc-disk"]);
    } finally {
      await nc.close();
    }
  });

  it("runs a submitted job with its environment, and lists it by name until it has finished", async () => {
    const s = spec("hello", ["/bin/sh", "-c", 'sleep 1; printf "%s" "$PILOT_SECRET" > "$PWD/out.txt"'], {
      PILOT_SECRET: `s3cr3t-${tag}`,
      // Not sbatch's: were it read, the job would be refused (no such reservation).
      SBATCH_RESERVATION: "nope",
    });
    const id = await batch.submit(s);
    expect(id).toMatch(/^\d+$/);
    // The secret went by environment: the job script Slurm keeps does not hold it.
    const script = await slurmCommand("scontrol", ["write", "batch_script", id, "-"], { conf: cluster.slurm!.conf });
    expect(script).toContain("exec '/bin/sh' '-c'");
    expect(script).not.toContain(`s3cr3t-${tag}`);
    const seen = new Set<string>();
    await until("the job to finish", async () => {
      const state = await stateOf(id);
      seen.add(state);
      return state === "finished" || state === "gone";
    }, 30_000);
    expect([...seen].some((st) => st === "pending" || st === "running")).toBe(true);
    expect(readFileSync(join(s.workDir, "out.txt"), "utf8")).toBe(`s3cr3t-${tag}`);
    expect((await jobs("hello")).every((j) => j.state === "finished")).toBe(true);
    // Finished jobs leave the queue in seconds (MinJobAge).
    await until("the finished job to leave squeue", async () => (await stateOf(id)) === "gone", 30_000);
  });

  it("cancels a long job, its processes too; an id already gone is no error", async () => {
    const mark = `299.${Date.now() % 100000}`;
    const id = await batch.submit(spec("long", ["sleep", mark]));
    await until("the long job to run", async () => (await stateOf(id)) === "running" && processesMentioning(`sleep ${mark}`).length > 0, 30_000);
    await batch.cancel([id]);
    await until("the long job to be cancelled", async () => ["cancelled", "gone"].includes(await stateOf(id)), 15_000);
    await until("its process to end", () => processesMentioning(`sleep ${mark}`).length === 0, 15_000);
    await batch.cancel([id, "999999"]);
    await expect(batch.cancel(["1; rm -rf /"])).rejects.toThrow(/not a Slurm job id/);
    // A refused submission says why in Slurm's words.
    await expect(batch.submit({ ...spec("bad", ["true"]), partition: "nope" })).rejects.toThrow(/sbatch failed.*invalid partition/);
  });

  it("restarts munged, slurmctld and slurmd while a job runs (it keeps running), and local down leaves no job, slurmstepd, slurmd, slurmctld or munged", async () => {
    const mark = `298.${Date.now() % 100000}`;
    const id = await batch.submit(spec("survivor", ["sleep", mark]));
    await until("the job to run", async () => (await stateOf(id)) === "running" && processesMentioning(`sleep ${mark}`).length > 0, 30_000);
    for (const name of ["munge", "slurmctld", "slurmd"]) {
      const r = await orrery(["local", "restart", name, "--dir", dir]);
      expect(r.code, r.stderr).toBe(0);
    }
    expect(await stateOf(id)).toBe("running");
    expect(slurmJobSteps(dir).length).toBeGreaterThan(0);
    const slurmPids = readCluster(dir)!.processes.filter((p) => p.role === "slurm").map((p) => p.pid);
    const down = await orrery(["local", "down", "--dir", dir]);
    expect(down.code, down.stderr).toBe(0);
    expect(slurmPids.filter((pid) => isAlive(pid))).toEqual([]);
    expect(slurmJobSteps(dir)).toEqual([]);
    expect(processesMentioning(`sleep ${mark}`)).toEqual([]);
    expect(processesMentioning(join(dir, "slurm"))).toEqual([]);
  });
});
