// `orrery events` on a real cluster: a follower started before the submit
// sees its campaign from its first state to SUCCEEDED, every quantum's
// changes with the attempt, site and agent that made them, and nothing of
// another campaign running at the same time; the dbb's replica events of the
// outputs are on NATS (orrery.events.replica.<rse>).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { natsAuthOf } from "../src/common/local/cluster-security.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { connectNats, type NatsConnection } from "../src/common/nats.js";
import { killCoordinator, tempDir, until } from "./harness.js";
import { ORRERY_BIN, REPO_ROOT, orrery, orreryJson } from "./cli-runner.js";

interface QuantumJson {
  id: string;
  task: string;
  state: string;
  outputs: string[];
  attempts: { agent: string; outcome: string }[];
}
type Event = Record<string, unknown> & { kind: string; state: string };

const FILES = 3;

function campaignYaml(name: string): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    first:
      command: [node, test/fixtures/payloads/copy-after.mjs, "0", "{inputs.frame}", "{outputs.copy}"]
      dimensions: [detector]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128}
    second:
      command: [node, test/fixtures/payloads/copy-after.mjs, "0", "{inputs.copy}", "{outputs.again}"]
      dimensions: [detector]
      inputs: {copy: {datasetType: copied}}
      outputs: {again: {datasetType: again}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: ev}
output: {scope: ev-out, run: ${name}/run1}
`;
}

describe("orrery events on a real cluster", () => {
  let dir: string;
  let cluster: ClusterFile;
  let nc: NatsConnection;
  const clusterArgs = () => ["--cluster", join(dir, "cluster.json")];

  beforeAll(async () => {
    dir = tempDir("events");
    cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 4 });
    nc = await connectNats(cluster.nats, "events-test", natsAuthOf(cluster));
    const lines: string[] = [];
    for (let d = 0; d < FILES; d++) {
      writeFileSync(join(dir, `in_${d}.dat`), `frame ${d}\n`);
      lines.push(JSON.stringify({ path: `in_${d}.dat`, scope: "ev", datasetType: "frame", dataId: { detector: d } }));
    }
    writeFileSync(join(dir, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const ingest = await orreryJson<{ ingested: number }>([...clusterArgs(), "dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(dir, "manifest.jsonl")]);
    expect(ingest.ingested).toBe(FILES);
  }, 60_000);

  afterAll(async () => {
    await nc?.close();
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows a campaign from submit to SUCCEEDED, each quantum with its attempt, and no other campaign", async () => {
    const replicas: Event[] = [];
    const replicaSub = nc.subscribe("orrery.events.replica.>", { callback: (err, msg) => {
        if (!err) replicas.push(msg.json<Event>());
      }, });

    // Followed through the coordinator alone: its address, CA and operator token; no cluster file, no NATS.
    const env = { PATH: process.env["PATH"], ORRERY_COORDINATOR: cluster.coordinator, ORRERY_CA: cluster.security?.ca, ORRERY_TOKEN: cluster.security?.tokens.operator };
    const follower: ChildProcessWithoutNullStreams = spawn(process.execPath, [ORRERY_BIN, "events", "--campaign", "ev-main", "--until-done"], { cwd: dir, env });
    let stdout = "";
    let stderr = "";
    follower.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    follower.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on("close", resolve));
    try {
      // Following once a probe published on NATS comes through (the stream is open).
      await until(
        "the follower relays events",
        () => {
          nc.publish("orrery.events.campaign.ev-main", JSON.stringify({ kind: "campaign", campaign: "ev-main", state: "PROBE", ts: 0 }));
          return stdout.includes('"PROBE"');
        },
        15_000,
      );
      for (const name of ["ev-main", "ev-other"]) writeFileSync(join(dir, `${name}.yaml`), campaignYaml(name));
      const [main, other] = await Promise.all(["ev-main", "ev-other"].map((name) => orrery([...clusterArgs(), "submit", join(dir, `${name}.yaml`), "--wait"])));
      expect(main!.code, main!.stderr).toBe(0);
      expect(other!.code, other!.stderr).toBe(0);
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 15_000));
      expect(await Promise.race([exited, timeout]), `orrery events did not exit 0 at SUCCEEDED:\n${stderr}\n${stdout}`).toBe(0);
    } finally {
      follower.kill("SIGKILL");
      replicaSub.unsubscribe();
    }

    const events = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Event)
      .filter((e) => e.state !== "PROBE");
    // Nothing of the other campaign, nor replica events.
    expect(events.every((e) => e["campaign"] === "ev-main"), stdout).toBe(true);
    const campaign = events.filter((e) => e.kind === "campaign");
    expect(campaign[0]).toMatchObject({ campaign: "ev-main", state: "RUNNING", submitted: true, counts: { READY: FILES, PENDING: FILES } });
    expect(campaign.map((e) => e.state)).toEqual(["RUNNING", "SUCCEEDED"]);
    expect(events.at(-1)).toMatchObject({ kind: "campaign", state: "SUCCEEDED" });
    for (const e of events) expect(typeof e["ts"]).toBe("number");

    const quanta = await orreryJson<QuantumJson[]>([...clusterArgs(), "quanta", "ev-main"]);
    expect(quanta).toHaveLength(2 * FILES);
    for (const q of quanta) {
      const mine = events.filter((e) => e.kind === "quantum" && e["quantum"] === q.id);
      // The first task's quanta start READY (the submit's counts); the second's become READY when their input is made.
      expect(mine.map((e) => e.state)).toEqual(q.task === "first" ? ["RUNNING", "SUCCEEDED"] : ["READY", "RUNNING", "SUCCEEDED"]);
      const done = mine.at(-1)!;
      expect(done).toMatchObject({ task: q.task, attempt: 1, site: "site-a", agent: q.attempts[0]!.agent, outcome: "succeeded" });
      expect(mine.find((e) => e.state === "RUNNING")).toMatchObject({ attempt: 1, site: "site-a" });
      // After the quantum's SUCCEEDED comes the campaign's.
      expect(events.indexOf(done)).toBeLessThan(events.length - 1);
    }

    // The dbb's events of every output, after its catalog write.
    const outputs = quanta.flatMap((q) => q.outputs);
    expect(outputs).toHaveLength(2 * FILES);
    await until("replica events of every output", () => outputs.every((did) => replicas.some((r) => r["did"] === did)), 5_000);
    for (const did of outputs) expect(replicas.find((r) => r["did"] === did)).toMatchObject({ kind: "replica", rse: "site-a-disk", state: "AVAILABLE" });
  }, 60_000);

  it("exits 3 naming the coordinator when it goes away", async () => {
    const follower = spawn(process.execPath, [ORRERY_BIN, ...clusterArgs(), "events"], { cwd: REPO_ROOT });
    let stdout = "";
    let stderr = "";
    follower.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    follower.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on("close", resolve));
    try {
      await until(
        "the follower relays events",
        () => {
          nc.publish("orrery.events.campaign.ev-probe", JSON.stringify({ kind: "campaign", campaign: "ev-probe", state: "PROBE", ts: 0 }));
          return stdout.includes('"ev-probe"');
        },
        15_000,
      );
      killCoordinator(cluster, dir);
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 15_000));
      expect(await Promise.race([exited, timeout]), stderr).toBe(3);
      expect(stderr).toContain(`lost the coordinator at ${cluster.coordinator}`);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      follower.kill("SIGKILL");
    }
  }, 40_000);
});
