// The real CLI as a user runs it: bad input exits 2 with one line naming the
// problem, an unreachable coordinator exits 3 quickly, naming where it looked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../src/common/local/ports.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { orreryIntoPipe } from "./cli-runner.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "bin", "orrery.mjs");


interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `node bin/orrery.mjs ARGS` in `cwd` with no ORRERY_* variables from the test's environment. */
function orrery(args: string[], cwd: string, extraEnv: Record<string, string> = {}): Promise<Run> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("ORRERY_")) env[k] = v;
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...env, ...extraEnv }, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

const STACK_LINE = /^\s+at /m;

describe("CLI errors", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "orrery-cli-errors-"));
  }, 180_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a campaign file that does not exist: exit 2, one line naming it, no stack", async () => {
    const run = await orrery(["submit", "does-not-exist.yaml"], dir);
    expect(run.code).toBe(2);
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines[0]).toBe("orrery: cannot read campaign file does-not-exist.yaml: no such file");
    expect(lines.filter((l) => !l.startsWith("  fix:"))).toHaveLength(1);
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect(run.stdout).toBe("");
  });

  it("refuses a priority out of range before contacting anything: exit 2", async () => {
    const file = join(dir, "c.yaml");
    await writeFile(file, "name: c\n");
    const run = await orrery(["submit", file, "--priority", "5000"], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--priority 5000");
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it("names an unreachable coordinator and exits 3 within a few seconds", async () => {
    const port = await freePort();
    const address = `127.0.0.1:${port}`;
    const cluster: ClusterFile = {
      version: 1,
      dir,
      coordinator: address,
      nats: `nats://127.0.0.1:${port}`,
      redis: `redis://127.0.0.1:${port}`,
      s3: {},
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      sites: [],
      processes: [],
    };
    const clusterFile = join(dir, "closed-cluster.json");
    await writeFile(clusterFile, JSON.stringify(cluster));
    const run = await orrery(["--cluster", clusterFile, "status"], dir);
    expect(run.code).toBe(3);
    expect(run.ms).toBeLessThan(10_000);
    expect(run.stderr).toContain(`coordinator at ${address}`);
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it("without any cluster says how to start one: exit 3 with the `orrery local up` hint", async () => {
    const empty = await mkdtemp(join(dir, "empty-"));
    const run = await orrery(["status"], empty);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("no cluster found");
    expect(run.stderr).toContain("orrery local up");
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it("campaign control: a priority out of range is exit 2 before contacting anything; an unreachable coordinator is exit 3", async () => {
    for (const bad of ["1001", "-1", "high"]) {
      const run = await orrery(["priority", "c", bad], dir);
      expect(run.code, bad).toBe(2);
      expect(run.stderr).toContain(`priority ${bad}: expected a whole number from 0 to 1000`);
      expect(run.stderr).toContain("fix:");
    }
    const port = await freePort();
    const env = { ORRERY_COORDINATOR: `127.0.0.1:${port}`, ORRERY_NATS: `nats://127.0.0.1:${port}` };
    for (const args of [["cancel", "c"], ["priority", "c", "7"]]) {
      const run = await orrery([...args, "--json"], dir, env);
      expect(run.code, args.join(" ")).toBe(3);
      expect(run.stderr).toContain(`coordinator at 127.0.0.1:${port}`);
      expect(run.stdout).toBe("");
    }
  });

  it("campaign commands need only $ORRERY_COORDINATOR, dbb commands only $ORRERY_NATS; a missing one is named", async () => {
    const empty = await mkdtemp(join(dir, "env-only-"));
    const port = await freePort();
    // Only the coordinator: the command dials it (exit 3 naming it), it never looks for a cluster file.
    const status = await orrery(["status"], empty, { ORRERY_COORDINATOR: `127.0.0.1:${port}` });
    expect(status.code, status.stderr).toBe(3);
    expect(status.stderr).toContain(`coordinator at 127.0.0.1:${port}`);
    expect(status.stderr).not.toContain("no cluster found");
    // Only NATS: a dbb command dials it.
    const rses = await orrery(["dbb", "rse", "list"], empty, { ORRERY_NATS: `nats://127.0.0.1:${port}` });
    expect(rses.code, rses.stderr).toBe(3);
    expect(rses.stderr).not.toContain("no cluster found");
    expect(rses.stderr).toContain(`127.0.0.1:${port}`);
    // The other variable does not stand in for the one a command needs: the error names it.
    const noCoordinator = await orrery(["quanta", "c"], empty, { ORRERY_NATS: `nats://127.0.0.1:${port}` });
    expect(noCoordinator.code).toBe(3);
    expect(noCoordinator.stderr).toContain("$ORRERY_COORDINATOR is not set");
    expect(noCoordinator.stderr).not.toContain("$ORRERY_NATS is not set");
    const noNats = await orrery(["dbb", "rse", "list"], empty, { ORRERY_COORDINATOR: `127.0.0.1:${port}` });
    expect(noNats.code).toBe(3);
    expect(noNats.stderr).toContain("$ORRERY_NATS is not set");
    for (const run of [status, rses, noCoordinator, noNats]) expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it("output into a closed pipe is a quiet exit 0, not an EPIPE trace", async () => {
    for (const reader of ["true", "head -1"]) {
      const run = await orreryIntoPipe(["schema"], reader, { cwd: dir });
      expect(run.stderr, reader).toBe("");
      expect(run.code, reader).toBe(0);
    }
  });

  it("asks for a campaign when watching without one: exit 2", async () => {
    const run = await orrery(["status", "--watch"], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("status --watch needs a CAMPAIGN");
  });
});
