// Metrics on a real cluster: after a campaign whose first attempt fails, the
// coordinator's /metrics (operator token only) counts every attempt by
// campaign and outcome as `orrery quanta` lists them, its quanta gauge matches
// `orrery status`, and the agent's and the dbb's /metrics answer with theirs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { tempDir, until } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The sum of a metric's samples whose labels include `where`. */
function sum(samples: Sample[], name: string, where: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

interface QuantumJson {
  state: string;
  attempts: { outcome: string }[];
}

describe("metrics on a real cluster", () => {
  let dir: string;
  let cluster: ClusterFile;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  beforeAll(async () => {
    dir = tempDir("metrics");
    cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, agentCores: 2, heartbeatMs: 500 });
    useClusterSecrets(cluster);
    for (const x of ["X", "Y"]) {
      writeFileSync(join(dir, `in_${x}.dat`), `input ${x}\n`.repeat(500));
      const ingest = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, `in_${x}.dat`), "--scope", "mx", "--dataset-type", "frame", "--data-id", `instrument=${x}`]);
      expect(ingest.code, ingest.stderr).toBe(0);
    }
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts every attempt by campaign and outcome, and each service answers /metrics and /healthz", async () => {
    const file = join(dir, "metered.yaml");
    writeFileSync(
      file,
      `apiVersion: orrery/v1
kind: Campaign
name: metered
pipeline:
  tasks:
    flaky:
      command: [node, test/fixtures/payloads/fail-once.mjs, ${JSON.stringify(join(dir, "failed-once"))}, "{inputs.frame}", "{outputs.copy}"]
      dimensions: [instrument]
      inputs: {frame: {datasetType: frame}}
      outputs: {copy: {datasetType: copied}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: mx}
retries: {failures: 2, kills: 3}
output: {scope: mx-out, run: metered/run1}
`,
    );
    const run = await cli(["submit", file, "--wait"]);
    expect(run.code, run.stdout + run.stderr).toBe(0);

    // The CLI calls side by side: each is a process start.
    const [quanta, status, local] = await Promise.all([
      json<QuantumJson[]>(["quanta", "metered"]),
      json<{ counts: Record<string, number> }>(["status", "metered"]),
      json<{ processes: { role: string; metrics: string | null }[] }>(["local", "status", "--dir", dir]),
    ]);
    const outcomes = quanta.flatMap((q) => q.attempts.map((a) => a.outcome));
    const succeeded = outcomes.filter((o) => o === "succeeded").length;
    const failed = outcomes.filter((o) => o === "payload_error").length;
    expect([succeeded, failed]).toEqual([2, 1]);

    const metricsUrl = `http://${cluster.http!}/metrics`;
    const refused = await fetch(metricsUrl);
    expect(refused.status).toBe(401);
    const wrong = await fetch(metricsUrl, { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    const scrape = await fetch(metricsUrl, { headers: { authorization: `Bearer ${cluster.security!.tokens.operator}` } });
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toContain("text/plain");
    const text = await scrape.text();
    const coord = parseExposition(text);
    // Every metric is orrery's, the process's defaults included.
    expect(coord.filter((s) => !s.name.startsWith("orrery_"))).toEqual([]);
    expect(sum(coord, "orrery_process_cpu_user_seconds_total")).toBeGreaterThan(0);

    expect(sum(coord, "orrery_attempts_total", { campaign: "metered", task: "flaky", site: "site-a", outcome: "succeeded" })).toBe(succeeded);
    expect(sum(coord, "orrery_attempts_total", { campaign: "metered", outcome: "payload_error" })).toBe(failed);
    expect(sum(coord, "orrery_attempts_total", { campaign: "metered" })).toBe(outcomes.length);
    for (const [state, n] of Object.entries(status.counts)) expect(sum(coord, "orrery_quanta", { campaign: "metered", state }), state).toBe(n);
    expect(sum(coord, "orrery_quanta", { campaign: "metered", state: "SUCCEEDED" })).toBe(2);
    expect(sum(coord, "orrery_campaigns", { state: "SUCCEEDED" })).toBeGreaterThanOrEqual(1);
    expect(sum(coord, "orrery_agents", { site: "site-a", kind: "hpc" })).toBe(1);
    expect(sum(coord, "orrery_ready_quanta")).toBe(0);
    // Each of the 3 attempts read its 4000-byte input, from the site's own RSE or the agent's cache.
    const staged = sum(coord, "orrery_stage_in_bytes_total", { campaign: "metered", site: "site-a" });
    expect(staged).toBe(3 * 4000);
    expect(sum(coord, "orrery_stage_in_bytes_total", { campaign: "metered", source: "other_site" })).toBe(0);
    expect(sum(coord, "orrery_lease_latency_seconds_count")).toBeGreaterThanOrEqual(3);
    expect(text).toContain("# HELP orrery_lease_latency_seconds Seconds from");

    const health = await fetch(`http://${cluster.http!}/healthz`);
    expect(health.status).toBe(200);

    const agent = cluster.processes.find((p) => p.role === "agent")!;
    const dbb = cluster.processes.find((p) => p.role === "dbb")!;
    expect(agent.metrics).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(dbb.metrics).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(local.processes.find((p) => p.role === "agent")!.metrics).toBe(`http://${agent.metrics!}/metrics`);

    // The agent counts an attempt once its result is journaled and sent: it may lag the coordinator a moment.
    let agentSamples: Sample[] = [];
    await until("the agent's metrics to count every attempt", async () => {
      agentSamples = parseExposition(await (await fetch(`http://${agent.metrics!}/metrics`)).text());
      return sum(agentSamples, "orrery_agent_attempts_total") === outcomes.length;
    });
    expect(sum(agentSamples, "orrery_agent_attempts_total", { outcome: "succeeded" })).toBe(succeeded);
    expect(sum(agentSamples, "orrery_agent_attempts_total", { outcome: "payload_error" })).toBe(failed);
    expect(sum(agentSamples, "orrery_agent_stage_in_bytes_total")).toBe(3 * 4000);
    expect(sum(agentSamples, "orrery_agent_stage_out_bytes_total")).toBe(2 * 4000);
    expect(sum(agentSamples, "orrery_agent_payloads_running")).toBe(0);
    expect(sum(agentSamples, "orrery_agent_free_cores")).toBe(2);
    expect(sum(agentSamples, "orrery_agent_cache_bytes")).toBeGreaterThan(0);
    expect((await fetch(`http://${agent.metrics!}/healthz`)).status).toBe(200);

    // A rule copies one input to the tape RSE: the dbb counts the transfer and its bytes by RSE pair.
    const rule = await cli(["dbb", "rule", "add", "mx:in_X.dat", "--rse-expr", "site-a-tape", "--copies", "1", "--wait"]);
    expect(rule.code, rule.stderr).toBe(0);
    const dbbSamples = parseExposition(await (await fetch(`http://${dbb.metrics!}/metrics`)).text());
    expect(sum(dbbSamples, "orrery_transfers_total", { state: "done" })).toBe(1);
    expect(sum(dbbSamples, "orrery_transfer_bytes_total", { source_rse: "site-a-disk", dest_rse: "site-a-tape" })).toBe(4000);
    expect(sum(dbbSamples, "orrery_replicas_registered_total")).toBeGreaterThanOrEqual(2);
    expect(dbbSamples.filter((s) => s.name === "orrery_rules").map((s) => s.labels["state"]).sort()).toEqual(["OK", "REPLICATING", "STUCK", "SUSPENDED"]);
    expect((await fetch(`http://${dbb.metrics!}/healthz`)).status).toBe(200);
  }, 30_000);
});
