// Kills are not failures: an agent lost mid-run costs a retry from the kill
// budget and the campaign still succeeds; a payload that fails spends the
// failure budget and blocks what depends on it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { tempDir } from "./harness.js";
import { connectNats } from "../src/common/nats.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface Status {
  state: string;
  counts: Record<string, number>;
  failures: number;
  kills: number;
}
interface QuantumJson {
  id: string;
  task: string;
  state: string;
  attempts: { agent: string; outcome: string; exitCode: number }[];
}

function campaign(name: string, tasks: string, retries: string): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
${tasks}
data: {scope: fx}
retries: ${retries}
output: {scope: fx-out, run: ${name}/run1}
`;
}

describe("failures and kills on a real cluster", () => {
  let dir: string;
  let cluster: ClusterFile;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  beforeAll(async () => {
    dir = tempDir("failures");
    cluster = await startCluster({ dir, sites: 2, agents: 2, softwareRoot: REPO_ROOT, leaseTtlMs: 3000, heartbeatMs: 500, agentCores: 1 });
    // The test reads and writes the catalog itself, as the operator.
    useClusterSecrets(cluster);
    writeFileSync(join(dir, "in_1.dat"), "input 1\n".repeat(100));
    const ingest = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, "in_1.dat"), "--scope", "fx", "--dataset-type", "frame", "--data-id", "instrument=X"]);
    expect(ingest.code, ingest.stderr).toBe(0);
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("re-runs the quanta of a lost agent elsewhere, counted as kills, not failures", async () => {
    const file = join(dir, "lost.yaml");
    writeFileSync(
      file,
      campaign(
        "lost-agent",
        `    slow:
      command: [node, test/fixtures/payloads/copy-after.mjs, "4", "{inputs.frame}", "{outputs.copy}"]
      dimensions: [instrument]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128}`,
        "{failures: 0, kills: 3}",
      ),
    );
    const submit = await cli(["submit", file]);
    expect(submit.code, submit.stderr).toBe(0);
    let victim: string | undefined;
    for (let i = 0; i < 100 && victim === undefined; i++) {
      const [q] = await json<QuantumJson[]>(["quanta", "lost-agent"]);
      if (q?.state === "RUNNING") victim = q.attempts[q.attempts.length - 1]?.agent;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(victim).toBeDefined();
    const proc = cluster.processes.find((p) => p.name === victim)!;
    process.kill(proc.pid, "SIGKILL");
    // What a lost attempt may leave: its output stored and registered at its site before it was cut off
    // (the same bytes the re-run makes: the payload copies its input).
    const nc = await connectNats(cluster.nats, "failures-test");
    const dbb = new DbbClient(nc);
    const [input] = (await dbb.files("fx", ["frame"])).filter((f) => f.file?.name === "in_1.dat");
    const outputDid = "fx-out:lost-agent/run1/copied/copied_X.dat";
    const [quantum] = await json<QuantumJson[]>(["quanta", "lost-agent"]);
    await dbb.register([{ file: { ...input!.file!, scope: "fx-out", name: outputDid.slice("fx-out:".length), datasetType: "copied" }, rse: `${proc.site!}-disk`, producedBy: quantum!.id, originSite: proc.site! }]);

    const done = await cli(["status", "lost-agent", "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    const status = await json<Status>(["status", "lost-agent"]);
    expect(status).toMatchObject({ state: "SUCCEEDED", failures: 0 });
    expect(status.kills).toBeGreaterThanOrEqual(1);
    const [q] = await json<QuantumJson[]>(["quanta", "lost-agent"]);
    expect(q!.attempts[0]).toMatchObject({ agent: victim, outcome: "lost" });
    expect(q!.attempts[q!.attempts.length - 1]!.outcome).toBe("succeeded");
    expect(q!.attempts[q!.attempts.length - 1]!.agent).not.toBe(victim);
    // The lost attempt's replica does not linger: the output has exactly one AVAILABLE replica, the re-run's.
    try {
      let available: string[] = [];
      for (let i = 0; i < 100; i++) {
        available = (await dbb.replicas(outputDid)).filter((r) => r.state === "AVAILABLE").map((r) => r.rse);
        if (available.length === 1) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(available).toEqual([`${cluster.processes.find((p) => p.name === q!.attempts.at(-1)!.agent)!.site!}-disk`]);
    } finally {
      await nc.close();
    }
  });

  it("retries a failing payload up to its budget, then fails it and blocks its downstream", async () => {
    const file = join(dir, "fail.yaml");
    writeFileSync(
      file,
      campaign(
        "failing",
        `    broken:
      command: [node, test/fixtures/payloads/fail-with.mjs, "1"]
      dimensions: [instrument]
      inputs: {frame: {datasetType: frame, multiple: true}}
      outputs: {out: {datasetType: brokenOut}}
      resources: {cores: 1, memoryMB: 128}
    after:
      command: [node, test/fixtures/payloads/copy-after.mjs, "0", "{inputs.b}", "{outputs.c}"]
      dimensions: [instrument]
      inputs: {b: {datasetType: brokenOut}}
      outputs: {c: {datasetType: afterOut}}
      resources: {cores: 1, memoryMB: 128}`,
        "{failures: 1, kills: 3}",
      ),
    );
    const run = await cli(["submit", file, "--wait"]);
    expect(run.code).toBe(1);
    expect(run.stdout + run.stderr).toContain("FAILED");
    const status = await json<Status>(["status", "failing"]);
    expect(status).toMatchObject({ state: "FAILED", failures: 2, kills: 0 });
    const quanta = await json<QuantumJson[]>(["quanta", "failing"]);
    const broken = quanta.find((q) => q.task === "broken")!;
    expect(broken.state).toBe("FAILED");
    expect(broken.attempts.map((a) => [a.outcome, a.exitCode])).toEqual([["payload_error", 1], ["payload_error", 1]]);
    expect(quanta.find((q) => q.task === "after")!.state).toBe("BLOCKED");
    const logs = await cli(["logs", broken.id]);
    expect(logs.stdout).toContain("deliberate failure with exit code 1");
  });
});
