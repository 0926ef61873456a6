// An agent you can trust with a node, on a real local cluster: a result made
// while the coordinator was down is delivered once across an agent crash; a
// SIGKILLed agent's restart kills the payloads it left running before taking
// work; a payload over its diskMB is stopped with `out_of_disk`; a quantum
// asking for more disk than the node has free is not leased to it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { open } from "lmdb";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { readCluster } from "../src/common/local/cluster-store.js";
import { isAlive } from "../src/common/local/child.js";
import { QuantumResultSchema } from "../src/gen/orrery/v1/agent_link_pb.js";
import { AttemptOutcome } from "../src/gen/orrery/v1/common_pb.js";
import { tempDir, until } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface Status {
  state: string;
  counts: Record<string, number>;
  failures: number;
  kills: number;
}
interface QuantumJson {
  id: string;
  state: string;
  attempts: { agent: string; outcome: string; exitCode: number; start: string; end: string | null; message: string }[];
}

const AGENT = "agent-1-site-a";
/** The agent offers far more disk than the node has: only the node's free space can keep a big quantum away. */
const AGENT_DISK_MB = 1_000_000_000;

function campaign(name: string, command: string, resources: string, retries = "{failures: 0, kills: 3}"): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    work:
      command: ${command}
      dimensions: [frame]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: ${name.replace(/-(.)/g, (_, c: string) => c.toUpperCase())}Out}}
      resources: ${resources}
data: {scope: hd}
retries: ${retries}
output: {scope: hd-out, run: ${name}/run1}
`;
}

/** The agent's journal as its LMDB holds it, read by another process (LMDB allows it) and closed again. */
async function readJournal(cacheDir: string) {
  const root = open({ path: cacheDir, maxDbs: 8, readOnly: true });
  try {
    const results = root.openDB<Buffer, string>({ name: "journal-results", encoding: "binary" });
    const leases = root.openDB<unknown, string>({ name: "journal-leases" });
    const groups = root.openDB<{ pgid: number }, string>({ name: "journal-payload-groups" });
    return {
      results: [...results.getRange()].map(({ value }) => fromBinary(QuantumResultSchema, value)),
      inFlight: [...leases.getKeys()].length,
      groups: [...groups.getRange()].map(({ value }) => value),
    };
  } finally {
    await root.close();
  }
}

/** Lines "PID HELPER_PID" the marked-copy payload appended, one per run. */
function marks(file: string): number[][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(" ").map(Number));
}

describe("agent hardening on a real cluster", () => {
  let dir: string;
  const cacheDir = () => join(dir, "agents", AGENT, "cache");
  const leftovers: number[] = [];
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);
  const pidOf = (name: string) => readCluster(dir)!.processes.find((p) => p.name === name)!.pid;
  const killHard = async (name: string) => {
    const pid = pidOf(name);
    process.kill(pid, "SIGKILL");
    await until(`${name} to die`, () => !isAlive(pid));
  };
  const restart = async (name: string) => {
    const r = await orrery(["local", "restart", name, "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
  };
  const submit = async (name: string, text: string) => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    const r = await cli(["submit", file]);
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    dir = tempDir("harden");
    await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 1, agentDiskMB: AGENT_DISK_MB, heartbeatMs: 500 });
    writeFileSync(join(dir, "in_1.dat"), "input 1\n".repeat(100));
    const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, "in_1.dat"), "--scope", "hd", "--dataset-type", "frame", "--data-id", "frame=1"]);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    // Payloads a failing test left running are not the cluster's: they go too.
    for (const pid of leftovers) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers once a result made while the coordinator was down, across a crash of the agent", async () => {
    const runs = join(dir, "once.marks");
    await submit("once", campaign("once", `[node, test/fixtures/payloads/marked-copy.mjs, "3", "${runs}", "{inputs.frame}", "{outputs.copy}"]`, "{cores: 1, memoryMB: 128}"));
    await until("the payload to start", () => marks(runs).length === 1, 30_000);
    leftovers.push(marks(runs)[0]![0]!);
    await killHard("coordinator");
    // The payload ends with no coordinator to tell: its result waits in the journal.
    await until("the result to be journaled", async () => (await readJournal(cacheDir())).results.length === 1, 30_000);
    await killHard(AGENT);
    const journal = await readJournal(cacheDir());
    expect(journal.inFlight).toBe(0);
    expect(journal.results.map((r) => r.outcome)).toEqual([AttemptOutcome.SUCCEEDED]);

    await restart("coordinator");
    await restart(AGENT);
    const done = await cli(["status", "once", "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    expect(await json<Status>(["status", "once"])).toMatchObject({ state: "SUCCEEDED", failures: 0, kills: 0 });
    const quanta = await json<QuantumJson[]>(["quanta", "once"]);
    expect(quanta.map((q) => q.attempts.map((a) => a.outcome))).toEqual([["succeeded"]]);
    // Ran once: the journaled result was delivered, not the quantum run again.
    expect(marks(runs)).toHaveLength(1);
    await until("the coordinator to acknowledge the result", async () => (await readJournal(cacheDir())).results.length === 0);
  });

  it("kills the payloads a SIGKILLed agent left running when it restarts, before it takes work", async () => {
    const runs = join(dir, "orphan.marks");
    await submit("orphan", campaign("orphan", `[node, test/fixtures/payloads/marked-copy.mjs, "120", "${runs}", "{inputs.frame}", "{outputs.copy}"]`, "{cores: 1, memoryMB: 128}"));
    await until("the payload to start", () => marks(runs).length === 1, 30_000);
    const [payload, helper] = marks(runs)[0]!;
    leftovers.push(payload!);
    await until("the payload's group to be journaled", async () => (await readJournal(cacheDir())).groups.some((g) => g.pgid === payload));
    await killHard(AGENT);
    // The agent is gone, its payload and the helper it started are not: this is what the restart must clean up.
    await new Promise((r) => setTimeout(r, 500));
    expect(isAlive(payload!)).toBe(true);
    expect(isAlive(helper!)).toBe(true);

    await restart(AGENT);
    // `local restart` returns once the agent is ready, i.e. connected and taking work: the orphans are gone by then.
    expect(isAlive(payload!)).toBe(false);
    expect(isAlive(helper!)).toBe(false);
    expect(readFileSync(join(dir, "logs", `${AGENT}.log`), "utf8")).toContain("killed a payload left running by a previous run of this agent");

    const done = await cli(["status", "orphan", "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    expect(await json<Status>(["status", "orphan"])).toMatchObject({ state: "SUCCEEDED", failures: 0 });
    const [q] = await json<QuantumJson[]>(["quanta", "orphan"]);
    expect(q!.attempts.map((a) => a.outcome)).toEqual(["lost", "succeeded"]);
    // The re-run ended normally: its group's record is gone from the journal.
    expect((await readJournal(cacheDir())).groups).toEqual([]);
  });

  it("stops a payload that writes past its diskMB with out_of_disk, soon, counted as a failure", async () => {
    await submit("disk-over", campaign("disk-over", `[node, test/fixtures/payloads/fill-disk.mjs, "40"]`, "{cores: 1, memoryMB: 128, diskMB: 10, timeLimit: 60s}", "{failures: 1, kills: 3}"));
    const done = await cli(["status", "disk-over", "--watch"]);
    expect(done.code).not.toBe(0);
    expect(await json<Status>(["status", "disk-over"])).toMatchObject({ state: "FAILED", failures: 2, kills: 0 });
    const [q] = await json<QuantumJson[]>(["quanta", "disk-over"]);
    expect(q!.state).toBe("FAILED");
    expect(q!.attempts.map((a) => a.outcome)).toEqual(["out_of_disk", "out_of_disk"]);
    for (const a of q!.attempts) {
      // Killed at a disk sample, not at its 60 s time limit.
      expect(Date.parse(a.end!) - Date.parse(a.start)).toBeLessThan(15_000);
      const used = /^the payload's scratch used (\d+) MB, over its disk limit \(diskMB\) of 10 MB; it was killed$/.exec(a.message);
      expect(used, a.message).not.toBeNull();
      expect(Number(used![1])).toBeGreaterThan(10);
    }
  });

  it("does not lease a quantum whose diskMB is more than the node has free", async () => {
    const s = statfsSync(dir);
    const freeMb = Math.ceil((s.bavail * s.bsize) / (1024 * 1024));
    expect(freeMb + 1000).toBeLessThan(AGENT_DISK_MB);
    await submit("disk-big", campaign("disk-big", `[node, test/fixtures/payloads/copy-after.mjs, "0", "{inputs.frame}", "{outputs.copy}"]`, `{cores: 1, memoryMB: 128, diskMB: ${freeMb + 1000}}`));
    // Several credits go by (one per heartbeat and lease end): none may bring this quantum a lease.
    await new Promise((r) => setTimeout(r, 4000));
    const [q] = await json<QuantumJson[]>(["quanta", "disk-big"]);
    expect(q!.state).toBe("READY");
    expect(q!.attempts).toEqual([]);
    expect((await cli(["cancel", "disk-big"])).code).toBe(0);
  });
});
