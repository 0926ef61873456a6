// Tickets and retry on a real cluster: a payload that fails until its cause
// is fixed spends its budget and opens a ticket (kept across a coordinator
// restart) with its outcome, exit code and stderr; its downstream is BLOCKED.
// Once the cause is fixed, `orrery retry` makes the campaign SUCCEED and the
// ticket closes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster, useClusterSecrets } from "../src/common/local/cluster.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface TicketJson {
  quantum: string;
  campaign: string;
  task: string;
  outcome: string;
  message: string;
  exitCode: number;
  stderrTail: string;
  attempt: number;
  state: string;
  quantumState: string;
  openedMs: number;
  closedMs: number;
}
interface QuantumJson {
  id: string;
  task: string;
  state: string;
}

describe("tickets and retry on a real cluster", () => {
  let dir: string;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);

  beforeAll(async () => {
    dir = tempDir("tickets");
    const cluster = await startCluster({ dir, sites: 1, agents: 1, softwareRoot: REPO_ROOT, leaseTtlMs: 3000, heartbeatMs: 500, agentCores: 2 });
    useClusterSecrets(cluster);
    writeFileSync(join(dir, "in_1.dat"), "input 1\n".repeat(100));
    const ingest = await cli(["dbb", "ingest", "--rse", "site-a-disk", join(dir, "in_1.dat"), "--scope", "tk", "--dataset-type", "frame", "--data-id", "instrument=X"]);
    expect(ingest.code, ingest.stderr).toBe(0);
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a failing quantum opens a ticket; after its cause is fixed, retry makes the campaign succeed and closes it", async () => {
    const flag = join(dir, "fixed");
    const file = join(dir, "flaky.yaml");
    writeFileSync(
      file,
      `apiVersion: orrery/v1
kind: Campaign
name: flaky
pipeline:
  tasks:
    flaky:
      command: [sh, -c, 'if test ! -f ${flag}; then echo "line before" >&2; echo boom >&2; exit 3; fi; cp "$0" "$1"', "{inputs.frame}", "{outputs.out}"]
      dimensions: [instrument]
      inputs: {frame: {datasetType: frame}}
      outputs: {out: {datasetType: flakyOut}}
      resources: {cores: 1, memoryMB: 128}
    after:
      command: [node, test/fixtures/payloads/copy-after.mjs, "0", "{inputs.f}", "{outputs.a}"]
      dimensions: [instrument]
      inputs: {f: {datasetType: flakyOut}}
      outputs: {a: {datasetType: afterOut}}
      resources: {cores: 1, memoryMB: 128}
data: {scope: tk}
retries: {failures: 1, kills: 3}
output: {scope: tk-out, run: flaky/run1}
`,
    );
    const run = await cli(["submit", file, "--wait"]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout + run.stderr).toContain("FAILED");
    expect(run.stderr).toContain("`orrery tickets --open --campaign flaky`; once the cause is fixed, `orrery retry flaky`");
    const quanta = await json<QuantumJson[]>(["quanta", "flaky"]);
    const flaky = quanta.find((q) => q.task === "flaky")!;
    const after = quanta.find((q) => q.task === "after")!;
    expect([flaky.state, after.state]).toEqual(["FAILED", "BLOCKED"]);

    // The ticket is in Redis with the progress that failed the quantum: a restarted coordinator still has it.
    const restarted = await orrery(["local", "restart", "coordinator", "--dir", dir]);
    expect(restarted.code, restarted.stderr).toBe(0);
    // Only a FAILED quantum can be retried: the BLOCKED one is refused, naming its state; an unknown campaign too.
    const [open, table, refused, unknown] = await Promise.all([
      json<TicketJson[]>(["tickets", "--open"]),
      cli(["tickets", "--open", "--campaign", "flaky"]),
      cli(["retry", "flaky", "--quantum", after.id]),
      cli(["retry", "no-such-campaign"]),
    ]);
    expect(open).toHaveLength(1);
    expect(open[0]).toMatchObject({ quantum: flaky.id, campaign: "flaky", task: "flaky", outcome: "payload_error", exitCode: 3, attempt: 2, state: "open", quantumState: "FAILED", closedMs: 0 });
    expect(open[0]!.stderrTail).toBe("line before\nboom");
    expect(open[0]!.openedMs).toBeGreaterThan(0);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/QUANTUM\s+TASK/);
    expect(table.stdout).toContain(flaky.id);
    expect(table.stdout).toContain("payload_error");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`quantum ${after.id} is BLOCKED; only FAILED quanta can be retried`);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no campaign named no-such-campaign");

    writeFileSync(flag, "");
    const retry = await cli(["retry", "flaky", "--json"]);
    expect(retry.code, retry.stderr).toBe(0);
    expect(JSON.parse(retry.stdout)).toMatchObject({ requeued: 1, unblocked: 1, state: "RUNNING" });

    const watch = await cli(["status", "flaky", "--watch"]);
    expect(watch.code, watch.stderr).toBe(0);
    const [states, stillOpen, all, again] = await Promise.all([
      json<QuantumJson[]>(["quanta", "flaky"]),
      json<TicketJson[]>(["tickets", "--open"]),
      json<TicketJson[]>(["tickets"]),
      // Nothing FAILED is left: nothing requeued, and a notice says so.
      cli(["retry", "flaky", "--json"]),
    ]);
    expect(states.map((q) => q.state)).toEqual(["SUCCEEDED", "SUCCEEDED"]);
    expect(stillOpen).toEqual([]);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ quantum: flaky.id, state: "closed", quantumState: "SUCCEEDED", exitCode: 3 });
    expect(all[0]!.closedMs).toBeGreaterThanOrEqual(all[0]!.openedMs);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ requeued: 0, state: "SUCCEEDED" });
    expect(again.stderr).toContain("nothing to retry");
  }, 120_000);
});
