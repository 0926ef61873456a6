// A spot fleet on the real local cluster: a spot agent preempted mid-quantum
// through `orrery local preempt`, as a user would. Its instance-metadata
// endpoint serves the notice; the agent reports the quantum `preempted` and
// exits 0; the other agent finishes the campaign with no failure; and the
// campaign's status counts the preemption and the CPU it lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "undici";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { isAlive } from "../src/common/local/child.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { REPO_ROOT } from "./cli-runner.js";
import { tempDir, until } from "./harness.js";
import { clusterCli, explainEnd, waitForCampaignEnd, type QuantumJson, type StatusJson } from "./fixtures/chaos-campaign.js";

const NAME = `spot-${process.pid}`;
const FRAMES = 4;
const SPOT = "agent-2-site-a-spot";

interface KindJson {
  attempts: number;
  preempted: number;
  lost: number;
  preemptionRate: number;
  cpuSeconds: number;
  wallSeconds: number;
  lostCpuSeconds: number;
  lostWallSeconds: number;
}

describe("a spot agent preempted through `orrery local preempt`", () => {
  let dir: string;
  let cluster: ClusterFile;
  let campaignFile: string;

  beforeAll(async () => {
    dir = tempDir("spot");
    cluster = await startCluster({ dir, sites: 1, agents: 2, spot: 1, softwareRoot: REPO_ROOT, agentCores: 1 });
    const cli = clusterCli(dir);
    const lines: string[] = [];
    for (let n = 0; n < FRAMES; n++) {
      writeFileSync(join(dir, `frame_${n}.dat`), `${NAME} frame ${n}\n`.repeat(20));
      lines.push(JSON.stringify({ path: `frame_${n}.dat`, scope: `${NAME}-in`, datasetType: "frame", dataId: { frame: n } }));
    }
    writeFileSync(join(dir, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const ingest = await cli.run(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(dir, "manifest.jsonl")]);
    expect(ingest.code, ingest.stderr).toBe(0);
    campaignFile = join(dir, `${NAME}.yaml`);
    writeFileSync(
      campaignFile,
      `apiVersion: orrery/v1
kind: Campaign
name: ${NAME}
pipeline:
  tasks:
    spin:
      command: [node, test/fixtures/payloads/spin-copy.mjs, "6", "{inputs.frame}", "{outputs.copy}"]
      dimensions: [frame]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128, timeLimit: 120s}
data: {scope: ${NAME}-in}
retries: {failures: 0, kills: 5}
output: {scope: ${NAME}-out, run: ${NAME}/run1}
`,
    );
  });

  afterAll(async () => {
    if (dir === undefined) return;
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses agents that are not spot, or not there, with exit code 2", async () => {
    const cli = clusterCli(dir);
    const hpc = await cli.run(["local", "preempt", "agent-1-site-a"]);
    expect(hpc.code).toBe(2);
    expect(hpc.stderr).toContain("agent agent-1-site-a is not a spot agent");
    expect(hpc.stderr).toContain(SPOT);
    const none = await cli.run(["local", "preempt", "agent-9-site-z-spot"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no agent "agent-9-site-z-spot"');
    const status = await cli.json<{ processes: { name: string; role: string; alive: boolean }[] }>(["local", "status"]);
    expect(status.processes).toContainEqual(expect.objectContaining({ name: "metadata", role: "metadata", alive: true }));
  });

  it("reports the running quantum preempted, exits 0, and the campaign succeeds elsewhere with the preemption counted", async () => {
    const cli = clusterCli(dir);
    const spot = cluster.processes.find((p) => p.name === SPOT)!;
    const submitted = await cli.run(["submit", campaignFile]);
    expect(submitted.code, submitted.stderr).toBe(0);

    // Mid-quantum: the spot agent's payload has started and spun a while (it spins 6 s: the notice, the CLI and the
    // agent's next poll come well before it ends, even on a loaded machine).
    await until("a payload running on the spot agent", () => readFileSync(spot.log, "utf8").includes('"msg":"payload starting"'), 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const before = Date.now();
    const posted = await cli.json<{ agent: string; action: string; time: string; served: boolean }>(["local", "preempt", SPOT, "--in", "90s"]);
    expect(posted).toMatchObject({ agent: SPOT, action: "terminate", served: true });
    expect(Date.parse(posted.time) - before).toBeGreaterThan(85_000);

    // The agent acts at once (it polls every second), not at the notice's time.
    await until("the spot agent to exit", () => !isAlive(spot.pid), 20_000);
    expect(readFileSync(spot.log, "utf8")).toMatch(/spot notice \(terminate .*\), reporting running quanta as preempted[\s\S]*stopped, exit code 0\n/);

    const end = await waitForCampaignEnd(dir, NAME, 120_000);
    expect(end.state, await explainEnd(dir, end)).toBe("SUCCEEDED");
    expect(end.failures).toBe(0);
    expect(end.kills).toBeGreaterThanOrEqual(1);
    const quanta = await cli.json<QuantumJson[]>(["quanta", NAME]);
    const attempts = quanta.flatMap((q) => q.attempts);
    expect(attempts.filter((a) => a.outcome === "preempted").every((a) => a.agent === SPOT)).toBe(true);
    expect(attempts.filter((a) => a.outcome === "preempted").length).toBeGreaterThanOrEqual(1);
    expect(attempts.filter((a) => a.outcome !== "succeeded" && a.outcome !== "preempted")).toEqual([]);

    const status = await cli.json<StatusJson & { nodeKinds: Record<string, KindJson> }>(["status", NAME]);
    const spotFigures = status.nodeKinds["spot"]!;
    const preempted = attempts.filter((a) => a.outcome === "preempted").length;
    expect(spotFigures.preempted).toBe(preempted);
    expect(spotFigures.attempts).toBe(attempts.filter((a) => a.agent === SPOT).length);
    expect(spotFigures.preemptionRate).toBeCloseTo(preempted / spotFigures.attempts, 3);
    // The payload had spun for over a second when the notice came: that CPU is lost.
    expect(spotFigures.lostCpuSeconds).toBeGreaterThan(0.3);
    expect(spotFigures.lostWallSeconds).toBeGreaterThan(1);
    expect(status.nodeKinds["hpc"]).toMatchObject({ preempted: 0, lost: 0, lostCpuSeconds: 0 });
    expect(status.nodeKinds["hpc"]!.attempts).toBe(attempts.filter((a) => a.agent !== SPOT).length);

    // Kept in Redis: a restarted coordinator gives the same figures.
    const restarted = await cli.run(["local", "restart", "coordinator"]);
    expect(restarted.code, restarted.stderr).toBe(0);
    const after = await cli.json<StatusJson & { nodeKinds: Record<string, KindJson> }>(["status", NAME]);
    expect(after.nodeKinds).toEqual(status.nodeKinds);
  });

  it("keeps the notice across a restart of the metadata service", async () => {
    const cli = clusterCli(dir);
    const restarted = await cli.json<{ name: string; address?: string }>(["local", "restart", "metadata"]);
    expect(restarted.name).toBe("metadata");
    const base = cluster.processes.find((p) => p.role === "metadata")!.address;
    const put = await request(`${base}/${SPOT}/latest/api/token`, { method: "PUT", headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" } });
    const token = await put.body.text();
    const res = await request(`${base}/${SPOT}/latest/meta-data/spot/instance-action`, { headers: { "x-aws-ec2-metadata-token": token } });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await res.body.text())).toMatchObject({ action: "terminate" });
  });
});
