// `npm run demo` on a warm machine (set-up done, code built) finishes in under
// 60 s: the first thing a new user runs must not feel slow. The demo starts a
// local cluster in ./.orrery (or reuses a live one), generates and ingests the
// mini-drp data and runs the campaign to SUCCEEDED. A cluster this test
// started is stopped afterwards; one that was running is left alone.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ORRERY_BIN, REPO_ROOT } from "../cli-runner.js";

const BUDGET_MS = 60_000;
const CLUSTER_FILE = join(REPO_ROOT, ".orrery", "cluster.json");

function runDemo(): Promise<{ code: number | null; ms: number; output: string }> {
  // The set-up step (`bash scripts/setup.sh`) is part of `npm run demo`: on a warm machine it is quick, and timed too.
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    for (const k of ["ORRERY_CLUSTER", "ORRERY_COORDINATOR", "ORRERY_NATS", "ORRERY_TOKEN", "ORRERY_CA"]) delete env[k];
    const child = spawn("npm", ["run", "--silent", "demo"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 5 * BUDGET_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, output });
    });
  });
}

describe("npm run demo on a warm machine", () => {
  const hadCluster = existsSync(CLUSTER_FILE);
  afterAll(() => {
    if (!hadCluster && existsSync(CLUSTER_FILE)) spawnSync(process.execPath, [ORRERY_BIN, "local", "down", "--dir", ".orrery"], { cwd: REPO_ROOT, stdio: "ignore" });
  });

  it(`runs the mini-drp campaign to SUCCEEDED in under ${BUDGET_MS / 1000} s`, async () => {
    const run = await runDemo();
    expect(run.code, run.output.slice(-3000)).toBe(0);
    expect(run.output).toContain("SUCCEEDED");
    expect(run.ms, `the demo took ${(run.ms / 1000).toFixed(1)} s:\n${run.output.slice(-2000)}`).toBeLessThan(BUDGET_MS);
  });
});
