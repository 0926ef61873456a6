// A server outage as a user meets it: with redis-server killed, campaign
// commands through the real CLI exit 3 naming Redis; with nats-server
// killed, dbb commands exit 3 naming NATS. Each is restarted with
// `orrery local restart`, and the campaign that ran across both outages
// succeeds, nothing counted against the agents, every output with exactly
// one AVAILABLE replica.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { DbbClient } from "../src/common/dbb-client.js";
import { connectNats } from "../src/common/nats.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface QuantumJson {
  id: string;
  state: string;
  attempts: { agent: string; outcome: string }[];
}

const QUANTA = 4;

describe("CLI during a Redis or NATS outage", () => {
  let dir: string;
  let cluster: ClusterFile;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);
  const kill = (name: string) => process.kill(cluster.processes.find((p) => p.name === name)!.pid, "SIGKILL");
  const restart = async (name: string) => {
    const r = await orrery(["local", "restart", name, "--dir", dir]);
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    dir = tempDir("outage");
    cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 1, leaseTtlMs: 3000, heartbeatMs: 500 });
    // The test reads and writes the catalog itself, as the operator.
    useClusterSecrets(cluster);
    for (let n = 1; n <= QUANTA; n++) {
      writeFileSync(join(dir, `in_${n}.dat`), `input ${n}\n`.repeat(50));
      const r = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, `in_${n}.dat`), "--scope", "oc", "--dataset-type", "frame", "--data-id", `frame=${n}`]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("exits 3 naming the server that is down, and the campaign completes once it is back", async () => {
    const file = join(dir, "outage.yaml");
    const campaign = (name: string) => `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    copy:
      command: [node, test/fixtures/payloads/copy-after.mjs, "1", "{inputs.frame}", "{outputs.copy}"]
      dimensions: [frame]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: oc}
output: {scope: oc-out, run: ${name}/run1}
`;
    writeFileSync(file, campaign("outage"));
    const submitted = await cli(["submit", file]);
    expect(submitted.code, submitted.stderr).toBe(0);
    for (let i = 0; i < 100; i++) {
      if ((await json<QuantumJson[]>(["quanta", "outage"])).some((q) => q.state === "RUNNING")) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    kill("redis");
    const other = join(dir, "other.yaml");
    writeFileSync(other, campaign("other"));
    // A pause refused now is not applied later either: the campaign below runs to its end.
    for (const args of [["status", "outage"], ["status"], ["quanta", "outage"], ["submit", other], ["pause", "outage"]]) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 3 });
      expect(r.stderr, args.join(" ")).toMatch(/Redis/);
      expect(r.stderr).not.toMatch(/max retries|\n\s+at /i);
    }
    await restart("redis");

    kill("nats");
    for (const args of [["dbb", "rse", "list"], ["dbb", "replicas", "oc:in_1.dat"]]) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 3 });
      expect(r.stderr).toMatch(/NATS/);
    }
    await restart("nats");

    const done = await cli(["status", "outage", "--watch"]);
    expect(done.code, done.stderr).toBe(0);
    const status = await json<{ state: string; counts: Record<string, number>; kills: number; failures: number }>(["status", "outage"]);
    // The outages were the cluster's: no agent was declared lost, no payload failed.
    expect(status).toMatchObject({ state: "SUCCEEDED", failures: 0, kills: 0 });
    expect(status.counts["SUCCEEDED"]).toBe(QUANTA);
    const quanta = await json<QuantumJson[]>(["quanta", "outage"]);
    for (const q of quanta) expect(q.attempts.some((a) => a.outcome === "lost")).toBe(false);

    const nc = await connectNats(cluster.nats, "outage-test");
    try {
      const outputs = await new DbbClient(nc).files("oc-out", ["copied"]);
      expect(outputs).toHaveLength(QUANTA);
      for (const f of outputs) expect(f.replicas.filter((r) => r.state === "AVAILABLE")).toHaveLength(1);
    } finally {
      await nc.close();
    }
  });
});
