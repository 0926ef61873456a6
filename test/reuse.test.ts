// Reuse and deferred tasks on a real local cluster: a resubmitted campaign
// runs only what is missing; a re-ingested raw re-runs exactly the quanta
// downstream of it; a deferred task is expanded from what its upstream made.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../src/common/local/cluster.js";
import { checksumBytes } from "../src/common/checksum.js";
import { tempDir } from "./harness.js";
import { orrery, orreryJson, REPO_ROOT } from "./cli-runner.js";

interface QuantumJson {
  id: string;
  task: string;
  dataId: Record<string, string | number>;
  state: string;
  outputs: string[];
  attempts: { outcome: string; message?: string; agent?: string }[];
}
interface ReplicaJson {
  rse: string;
  state: string;
  md5: string;
}
interface StatusJson {
  state: string;
  tasks: Record<string, Record<string, number>>;
}

const CAMPAIGN = join(REPO_ROOT, "examples/mini-drp/campaign.yaml");
const RAW = "raw/r_903334_0.fits"; // exposure 903334, detector 0: patch 1

describe("reuse and deferred tasks on a local cluster", () => {
  let dir: string;
  const cli = (args: string[]) => orrery(["--cluster", join(dir, "cluster.json"), ...args]);
  const json = <T>(args: string[]) => orreryJson<T>(["--cluster", join(dir, "cluster.json"), ...args]);
  const submitWait = async (file: string) => {
    const r = await cli(["submit", file, "--wait"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
  };

  beforeAll(async () => {
    dir = tempDir("reuse");
    await startCluster({ dir, sites: 2, agents: 2, softwareRoot: REPO_ROOT });
    execFileSync(process.execPath, [join(REPO_ROOT, "examples/mini-drp/generate.mjs"), join(dir, "input"), "--exposures", "2", "--detectors", "4", "--size", "32"]);
    const ingest = await cli(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(dir, "input", "manifest.jsonl")]);
    expect(ingest.code, ingest.stderr).toBe(0);
  });

  afterAll(async () => {
    await stopCluster(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it("skips every quantum of a resubmitted campaign, then re-runs exactly those downstream of a changed raw", async () => {
    await submitWait(CAMPAIGN);
    const first = await json<QuantumJson[]>(["quanta", "mini-drp"]);
    expect(first).toHaveLength(18);
    expect(first.every((q) => q.state === "SUCCEEDED" && q.attempts.length === 1)).toBe(true);

    // Nothing changed: nothing runs, every quantum is SKIPPED with no attempt.
    await submitWait(CAMPAIGN);
    const second = await json<QuantumJson[]>(["quanta", "mini-drp"]);
    expect(second).toHaveLength(18);
    expect(second.filter((q) => q.state !== "SKIPPED" || q.attempts.length > 0)).toEqual([]);
    expect((await json<StatusJson>(["status", "mini-drp"])).state).toBe("SUCCEEDED");

    // New bytes for one raw: a valid FITS (header untouched), one pixel changed, ingested under the same DID.
    const path = join(dir, "input", RAW);
    const bytes = readFileSync(path);
    const pixel = bytes.length - 2880 + 100; // inside the data block (32×32 16-bit pixels fit one block)
    bytes[pixel] = (bytes[pixel]! + 1) & 0xff;
    writeFileSync(path, bytes);
    const entry = readFileSync(join(dir, "input", "manifest.jsonl"), "utf8").split("\n").find((l) => l.includes(RAW))!;
    writeFileSync(join(dir, "input", "reingest.jsonl"), `${entry}\n`);
    const reingest = await cli(["dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(dir, "input", "reingest.jsonl")]);
    expect(reingest.code, reingest.stderr).toBe(0);
    const rawReplicas = await json<ReplicaJson[]>(["dbb", "replicas", `hsc:${RAW}`]);
    expect(rawReplicas.find((r) => r.rse === "site-a-disk")?.md5).toBe(checksumBytes(bytes).md5);

    await submitWait(CAMPAIGN);
    const third = await json<QuantumJson[]>(["quanta", "mini-drp"]);
    const ran = third.filter((q) => q.attempts.length > 0);
    expect(ran.map((q) => `${q.task} ${q.dataId["exposure"] ?? ""}/${q.dataId["detector"] ?? ""}/${q.dataId["patch"] ?? ""}`).sort()).toEqual(
      ["calibrate 903334/0/", "coadd //1", "isr 903334/0/"].sort(),
    );
    expect(ran.every((q) => q.state === "SUCCEEDED")).toBe(true);
    expect(third.filter((q) => q.attempts.length === 0).every((q) => q.state === "SKIPPED")).toBe(true);
    expect(third.filter((q) => q.state === "SKIPPED")).toHaveLength(15);

    // The re-run isr made new bytes under its old DID; every AVAILABLE copy holds them.
    const isr = ran.find((q) => q.task === "isr")!;
    const made = (await json<ReplicaJson[]>(["dbb", "replicas", isr.outputs[0]!])).filter((r) => r.state === "AVAILABLE");
    expect(made.length).toBeGreaterThan(0);
    expect(new Set(made.map((r) => r.md5)).size).toBe(1);
  });

  it("expands a deferred coadd from the calexps its upstream produced, and dedups it across campaigns", async () => {
    const text = readFileSync(CAMPAIGN, "utf8")
      .replace("name: mini-drp\n", "name: mini-drp-deferred\n")
      .replace("run: mini-drp/run1", "run: mini-drp-deferred/run1")
      .replace("reuse: true", "reuse: false")
      .replace("coadd:\n      command:", "coadd:\n      deferred: true\n      command:");
    expect(text).toContain("deferred: true");
    const file = join(dir, "deferred.yaml");
    writeFileSync(file, text);

    const submitted = await json<{ campaign: string; quanta: number }>(["submit", file]);
    expect(submitted.quanta).toBe(16); // isr and calibrate; coadd waits
    // (The quanta run too fast to catch coadd at 0 in `status`; the submit count shows it.)

    const done = await cli(["status", "mini-drp-deferred", "--watch"]);
    expect(done.code, done.stderr + done.stdout).toBe(0);
    const quanta = await json<QuantumJson[]>(["quanta", "mini-drp-deferred"]);
    const coadds = quanta.filter((q) => q.task === "coadd");
    expect(coadds).toHaveLength(2);
    expect(quanta).toHaveLength(18);
    // Each quantum succeeded at its first attempt; any other is named with its attempts' outcomes.
    const retried = quanta.filter((q) => q.state !== "SUCCEEDED" || q.attempts.length !== 1);
    expect(retried.map((q) => `${q.id} ${q.state}: ${q.attempts.map((a) => `${a.outcome} on ${a.agent ?? "?"}${a.message ? ` (${a.message})` : ""}`).join(", ")}`)).toEqual([]);
    const status = await json<StatusJson>(["status", "mini-drp-deferred"]);
    expect(status.state).toBe("SUCCEEDED");
    expect(status.tasks["coadd"]?.["SUCCEEDED"]).toBe(2);
    expect(coadds.map((q) => q.outputs[0]).sort()).toEqual([
      "hsc-drp:mini-drp-deferred/run1/deepCoadd/deepCoadd_HSC_9813_1.fits",
      "hsc-drp:mini-drp-deferred/run1/deepCoadd/deepCoadd_HSC_9813_2.fits",
    ]);

    // The same work under another name, with reuse: nothing runs, the deferred coadd included.
    writeFileSync(file, text.replace(/mini-drp-deferred/g, "mini-drp-again").replace("reuse: false", "reuse: true"));
    await submitWait(file);
    const again = await json<QuantumJson[]>(["quanta", "mini-drp-again"]);
    expect(again).toHaveLength(18);
    expect(again.filter((q) => q.state !== "SKIPPED" || q.attempts.length > 0)).toEqual([]);

    // Another coadd config: only the coadds run, reading the calexps another run made.
    const r = await cli(["submit", file, "--config", "coadd.variant=2", "--wait"]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const variant = await json<(QuantumJson & { inputs: string[] })[]>(["quanta", "mini-drp-again"]);
    const ran = variant.filter((q) => q.attempts.length > 0);
    expect(ran.map((q) => [q.task, q.state])).toEqual([
      ["coadd", "SUCCEEDED"],
      ["coadd", "SUCCEEDED"],
    ]);
    expect(variant.filter((q) => q.state === "SKIPPED")).toHaveLength(16);
    for (const q of ran) {
      expect(q.inputs).toHaveLength(4);
      for (const did of q.inputs) expect(did).not.toContain("mini-drp-again/");
    }
  });
});
