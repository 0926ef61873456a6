// The built-in `orrery:noop` and tasks with no outputs, on a real local
// cluster: a few tiny files ingested, a noop campaign and a campaign whose
// payload really runs but makes nothing, each submitted with --wait; and
// task labels in mixed case with - and _ (CONTRACT) from submit to outputs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { tempDir } from "./harness.js";
import { orrery, orreryIntoPipe, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface QuantumJson {
  id: string;
  task: string;
  state: string;
  outputs: string[];
  attempts: { agent: string; outcome: string; exitCode: number }[];
}

const DETECTORS = 6;

function campaignYaml(name: string, task: string): string {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
${task}data: {scope: noop-test}
output: {scope: noop-test-out, run: ${name}/run1}
`;
}

describe("tasks with no outputs and the built-in noop on a local cluster", () => {
  let dir: string;
  let cli: (args: string[]) => ReturnType<typeof orrery>;
  let json: <T>(args: string[]) => Promise<T>;

  beforeAll(async () => {
    dir = tempDir("noop");
    await startCluster({ dir, sites: 1, agents: 2, softwareRoot: REPO_ROOT });
    const clusterArgs = ["--cluster", join(dir, "cluster.json")];
    cli = (args) => orrery([...clusterArgs, ...args]);
    json = (args) => orreryJson([...clusterArgs, ...args]);
    const input = join(dir, "input");
    mkdirSync(input, { recursive: true });
    const lines: string[] = [];
    for (let d = 0; d < DETECTORS; d++) {
      writeFileSync(join(input, `raw_${d}.dat`), `detector ${d}\n`);
      lines.push(JSON.stringify({ path: `raw_${d}.dat`, scope: "noop-test", datasetType: "raw", dataId: { instrument: "HSC", detector: d } }));
    }
    writeFileSync(join(input, "manifest.jsonl"), `${lines.join("\n")}\n`);
    const ingest = await json<{ ingested: number }>(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(input, "manifest.jsonl")]);
    expect(ingest.ingested).toBe(DETECTORS);
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs an orrery:noop campaign to SUCCEEDED with a provenance record per quantum", async () => {
    const file = join(dir, "noop.yaml");
    writeFileSync(file, campaignYaml("noop-run", `    probe:\n      command: ["orrery:noop"]\n      dimensions: [instrument, detector]\n      inputs: {raw: {datasetType: raw}}\n`));
    const submit = await cli(["submit", file, "--wait"]);
    expect(submit.stderr + submit.stdout).toContain("SUCCEEDED");
    expect(submit.code).toBe(0);

    const quanta = await json<QuantumJson[]>(["quanta", "noop-run"]);
    expect(quanta).toHaveLength(DETECTORS);
    for (const q of quanta) {
      expect(q.state).toBe("SUCCEEDED");
      expect(q.outputs).toEqual([]);
      expect(q.attempts.map((a) => a.outcome)).toEqual(["succeeded"]);
    }
    const provenance = await json<{ quantum: string; outcome: string; command: string[]; inputs: unknown[]; outputs: unknown[]; identity: string }>(["provenance", quanta[0]!.id]);
    expect(provenance).toMatchObject({ quantum: quanta[0]!.id, outcome: "succeeded", command: ["orrery:noop"], inputs: [], outputs: [] });
    expect(provenance.identity).toMatch(/^[0-9a-f]+$/);
  });

  it("runs a real payload with no outputs to SUCCEEDED, its inputs staged in", async () => {
    const file = join(dir, "check.yaml");
    // Exits 0 only when the staged input holds the bytes ingested for its detector.
    const task = `    check:
      command: [/bin/sh, -c, 'grep -qx "detector {dataId.detector}" "$0"', "{inputs.raw}"]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
`;
    writeFileSync(file, campaignYaml("no-outputs", task));
    const submit = await cli(["submit", file, "--wait"]);
    expect(submit.stderr + submit.stdout).toContain("SUCCEEDED");
    expect(submit.code).toBe(0);

    const quanta = await json<QuantumJson[]>(["quanta", "no-outputs"]);
    expect(quanta).toHaveLength(DETECTORS);
    for (const q of quanta) {
      expect(q.state).toBe("SUCCEEDED");
      expect(q.outputs).toEqual([]);
      expect(q.attempts.map((a) => [a.outcome, a.exitCode])).toEqual([["succeeded", 0]]);
    }
    const provenance = await json<{ exitCode: number; inputs: { did: string }[]; outputs: unknown[] }>(["provenance", quanta[0]!.id]);
    expect(provenance.exitCode).toBe(0);
    expect(provenance.inputs).toHaveLength(1);
    expect(provenance.outputs).toEqual([]);
  });
  it("runs tasks labelled as pipelines label them (visitSummary, make-Warp_2): ids, outputs, --task filter", async () => {
    const file = join(dir, "labels.yaml");
    const tasks = `    visitSummary:
      command: [/bin/sh, -c, 'cp "$0" "$1"', "{inputs.raw}", "{outputs.summary}"]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {summary: {datasetType: visitSummaryTable}}
    make-Warp_2:
      command: ["orrery:noop"]
      dimensions: [instrument, detector]
      inputs: {summary: {datasetType: visitSummaryTable}}
`;
    writeFileSync(file, campaignYaml("labels", tasks));
    const submit = await cli(["submit", file, "--wait", "--config", "visitSummary.doWrite=true"]);
    expect(submit.stderr + submit.stdout).toContain("SUCCEEDED");
    expect(submit.code).toBe(0);

    const summaries = await json<QuantumJson[]>(["quanta", "labels", "--task", "visitSummary"]);
    expect(summaries).toHaveLength(DETECTORS);
    for (const q of summaries) {
      expect(q.task).toBe("visitSummary");
      expect(q.id).toMatch(/^labels\.visitSummary\.\d+$/);
      expect(q.state).toBe("SUCCEEDED");
      expect(q.outputs).toHaveLength(1);
    }
    const warps = await json<QuantumJson[]>(["quanta", "labels", "--task", "make-Warp_2"]);
    expect(warps.map((q) => [q.task, q.state])).toEqual(Array.from({ length: DETECTORS }, () => ["make-Warp_2", "SUCCEEDED"]));
    // A label the CLI refuses before asking: exit 2 naming the rule.
    const bad = await cli(["quanta", "labels", "--task", "make.warp"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--task \"make.warp\" is not a task label");
    // Only $ORRERY_COORDINATOR, $ORRERY_TOKEN and $ORRERY_CA, no cluster file anywhere: campaign commands work.
    const clusterFile = JSON.parse(readFileSync(join(dir, "cluster.json"), "utf8")) as { coordinator: string; security?: { ca: string; tokens: { operator: string } } };
    const env: NodeJS.ProcessEnv = { PATH: process.env["PATH"], ORRERY_COORDINATOR: clusterFile.coordinator };
    if (clusterFile.security) Object.assign(env, { ORRERY_TOKEN: clusterFile.security.tokens.operator, ORRERY_CA: clusterFile.security.ca });
    const bare = join(dir, "env-only");
    mkdirSync(bare);
    const envOnly = await orreryJson<{ campaign: string; state: string; tasks: Record<string, unknown> }>(["status", "labels"], { env, cwd: bare });
    expect(envOnly).toMatchObject({ campaign: "labels", state: "SUCCEEDED" });
    expect(Object.keys(envOnly.tasks).sort()).toEqual(["make-Warp_2", "visitSummary"]);
    // Into a closed pipe: a quiet exit 0, no EPIPE trace.
    for (const args of [["status", "labels"], ["quanta", "labels"], ["quanta", "labels", "--json"]]) {
      const piped = await orreryIntoPipe(["--cluster", join(dir, "cluster.json"), ...args]);
      expect(piped, args.join(" ")).toEqual({ code: 0, stderr: "" });
    }
  });
});
