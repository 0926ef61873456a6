// A coordinator crash loses nothing acknowledged: campaigns and quanta come
// back from Redis, agents reconnect and deliver the results they journaled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { stopProcess } from "../src/common/local/child.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { killCoordinator, tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface QuantumJson {
  id: string;
  task: string;
  state: string;
  attempts: { agent: string; outcome: string }[];
}

describe("coordinator restart", () => {
  let dir: string;
  let cluster: ClusterFile;
  let restartedPid = 0;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  beforeAll(async () => {
    dir = tempDir("restart");
    cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 1 });
    for (const n of [1, 2, 3]) writeFileSync(join(dir, `in_${n}.dat`), `input ${n}\n`.repeat(50));
    for (const n of [1, 2, 3]) {
      const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, `in_${n}.dat`), "--scope", "rs", "--dataset-type", "frame", "--data-id", `frame=${n}`]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    if (restartedPid) await stopProcess(restartedPid);
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("finishes a campaign that was running when the coordinator was killed", async () => {
    const file = join(dir, "restart.yaml");
    writeFileSync(
      file,
      `apiVersion: orrery/v1
kind: Campaign
name: survive
pipeline:
  tasks:
    slow:
      command: [node, test/fixtures/payloads/copy-after.mjs, "2", "{inputs.frame}", "{outputs.copy}"]
      dimensions: [frame]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: rs}
output: {scope: rs-out, run: survive/run1}
`,
    );
    expect((await cli(["submit", file])).code).toBe(0);
    // Wait until the (single-core) agent runs the first quantum, then kill the coordinator hard.
    for (let i = 0; i < 100; i++) {
      const quanta = await json<QuantumJson[]>(["quanta", "survive"]);
      if (quanta.some((q) => q.state === "RUNNING")) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const restart = killCoordinator(cluster, dir);
    await new Promise((r) => setTimeout(r, 2500)); // the payload finishes while no coordinator is there
    restartedPid = await restart();

    const done = await cli(["status", "survive", "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    const status = await json<{ state: string; counts: Record<string, number>; kills: number; failures: number }>(["status", "survive"]);
    expect(status).toMatchObject({ state: "SUCCEEDED", failures: 0, kills: 0 });
    expect(status.counts["SUCCEEDED"]).toBe(3);
    const quanta = await json<QuantumJson[]>(["quanta", "survive"]);
    // Every quantum ran exactly once: the result made while the coordinator was down was delivered, not re-run.
    expect(quanta.map((q) => q.attempts.map((a) => a.outcome))).toEqual([["succeeded"], ["succeeded"], ["succeeded"]]);
  });
});
