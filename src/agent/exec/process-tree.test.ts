import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { sampleProcessTree } from "./process-tree.js";
import { runPayload } from "./payload.js";

const MB = 1024 * 1024;
// Holds `mb` MiB resident (touched pages), says so on stdout, then waits.
const hold = (mb: number) => `const b = Buffer.alloc(${mb} * 1024 * 1024, 1); process.stdout.write("held " + b.length + "\\n"); setInterval(() => b[0]++, 1000);`;

function waitForLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => child.stdout!.once("data", () => resolve()));
}

describe("payload process tree from /proc", () => {
  const children: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), "orrery-exec-"));
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) process.kill(-c.pid!, "SIGKILL");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("sums resident memory over a child and its grandchild", async () => {
    // A shell that starts a node holding 64 MiB: the memory lives in the grandchild.
    const child = spawn("sh", ["-c", `node -e '${hold(64)}'`], { stdio: ["ignore", "pipe", "ignore"], detached: true });
    children.push(child);
    await waitForLine(child);
    const s = await sampleProcessTree(child.pid!);
    expect(s.pids[0]).toBe(child.pid);
    expect(s.pids.length).toBeGreaterThanOrEqual(2);
    expect(s.rssBytes).toBeGreaterThan(64 * MB);
    expect(s.hwmBytes).toBeGreaterThan(64 * MB);
    expect(s.cpuSeconds).toBeGreaterThanOrEqual(0);
  });

  it("returns an empty sample for a process that is gone", async () => {
    const child = spawn("true", [], { detached: true });
    await new Promise((r) => child.once("exit", r));
    expect((await sampleProcessTree(child.pid!)).pids).toEqual([]);
  });

  const base = (name: string) => ({
    cwd: dir,
    env: process.env,
    stdoutPath: join(dir, `${name}.out`),
    stderrPath: join(dir, `${name}.err`),
    softTimeLimitMs: 0,
    hardTimeLimitMs: 0,
    memoryLimitBytes: 0,
  });

  it("kills a payload over its memory limit and records its peak", async () => {
    const run = await runPayload({ ...base("oom"), argv: ["node", "-e", hold(160)], memoryLimitBytes: 100 * MB, hardTimeLimitMs: 20_000 });
    expect(run.end).toBe("out_of_memory");
    expect(run.signal).toBe("SIGKILL");
    expect(run.peakRssBytes).toBeGreaterThan(100 * MB);
  });

  it("sends SIGTERM at the soft limit and SIGKILL at the hard limit", async () => {
    const stubborn = `process.on("SIGTERM", () => process.stdout.write("got SIGTERM\\n")); setInterval(() => {}, 1000);`;
    const run = await runPayload({ ...base("slow"), argv: ["node", "-e", stubborn], softTimeLimitMs: 300, hardTimeLimitMs: 900 });
    expect(run.end).toBe("timeout");
    expect(run.signal).toBe("SIGKILL");
    expect(run.endMs - run.startMs).toBeGreaterThanOrEqual(850);
    expect(readFileSync(join(dir, "slow.out"), "utf8")).toContain("got SIGTERM");
  });

  it("reports exit codes, output files and programs that cannot start", async () => {
    const run = await runPayload({ ...base("exit"), argv: ["node", "-e", `process.stdout.write("out\\n"); process.stderr.write("err\\n"); process.exit(3)`] });
    expect(run).toMatchObject({ end: "exited", exitCode: 3 });
    expect(readFileSync(join(dir, "exit.out"), "utf8")).toBe("out\n");
    expect(readFileSync(join(dir, "exit.err"), "utf8")).toBe("err\n");
    const missing = await runPayload({ ...base("missing"), argv: ["/nonexistent/program"] });
    expect(missing.end).toBe("spawn_error");
    expect(missing.error).toContain("ENOENT");
  });
});
