import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { judgeRun, Outcome } from "../lease-outcome.js";
import { checkDisk, freeBytes, treeBytes } from "./disk-watch.js";
import { runPayload } from "./payload.js";

const MB = 1024 * 1024;
// Writes `mb` MiB into its working directory, one MiB at a time, then sleeps: only a kill ends it early.
const fill = (mb: number) =>
  `const fs = require("fs"); const fd = fs.openSync("big.dat", "w"); const b = Buffer.alloc(1024 * 1024, 7); for (let i = 0; i < ${mb}; i++) fs.writeSync(fd, b); fs.fsyncSync(fd); setTimeout(() => {}, 60000);`;

describe("disk watch of a payload's scratch", () => {
  const dir = mkdtempSync(join(tmpdir(), "orrery-disk-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("measures a tree, nested directories included", async () => {
    const tree = join(dir, "tree");
    mkdirSync(join(tree, "a", "b"), { recursive: true });
    writeFileSync(join(tree, "one"), Buffer.alloc(3 * MB));
    writeFileSync(join(tree, "a", "b", "two"), Buffer.alloc(2 * MB));
    const bytes = await treeBytes(tree);
    expect(bytes).toBeGreaterThanOrEqual(5 * MB);
    expect(bytes).toBeLessThan(5 * MB + 64 * 1024);
    expect(await treeBytes(join(dir, "absent"))).toBe(0);
  });

  it("finds a tree over its limit, and the node below its floor", async () => {
    const tree = join(dir, "tree");
    const free = await freeBytes(join(dir, "not", "yet", "made"));
    expect(free).toBeGreaterThan(0);
    expect(await checkDisk({ dir: tree, limitBytes: 10 * MB, freeDir: dir, minFreeBytes: MB })).toBeUndefined();
    expect(await checkDisk({ dir: tree, limitBytes: 4 * MB, freeDir: dir, minFreeBytes: 0 })).toMatchObject({ cause: "limit", limitBytes: 4 * MB });
    // A floor above what the disk has free: the node is "full".
    expect(await checkDisk({ dir: tree, limitBytes: 0, freeDir: dir, minFreeBytes: free * 2 })).toMatchObject({ cause: "node" });
  });

  const base = (name: string) => {
    const cwd = join(dir, name);
    mkdirSync(cwd);
    return { cwd, env: process.env, stdoutPath: join(dir, `${name}.out`), stderrPath: join(dir, `${name}.err`), softTimeLimitMs: 0, hardTimeLimitMs: 30_000, memoryLimitBytes: 0 };
  };

  it("kills a payload whose scratch outgrows its limit, soon, and says how much it used", async () => {
    const spec = base("over");
    const run = await runPayload({ ...spec, argv: ["node", "-e", fill(24)], disk: { dir: spec.cwd, limitBytes: 8 * MB, freeDir: dir, minFreeBytes: 0, intervalMs: 100 } });
    expect(run.end).toBe("out_of_disk");
    expect(run.signal).toBe("SIGKILL");
    expect(run.endMs - run.startMs).toBeLessThan(10_000);
    expect(run.disk).toMatchObject({ cause: "limit", limitBytes: 8 * MB });
    expect(run.disk!.usedBytes).toBeGreaterThan(8 * MB);
    const verdict = judgeRun(run, ["node"], { softS: 0, hardS: 30, memoryMb: 0 }, []);
    expect(verdict.outcome).toBe(Outcome.OUT_OF_DISK);
    expect(verdict.message).toMatch(/^the payload's scratch used \d+ MB, over its disk limit \(diskMB\) of 8 MB; it was killed$/);
  });

  it("leaves a payload within its limit alone", async () => {
    const spec = base("within");
    const script = `require("fs").writeFileSync("small.dat", Buffer.alloc(2 * 1024 * 1024)); setTimeout(() => {}, 600);`;
    const run = await runPayload({ ...spec, argv: ["node", "-e", script], disk: { dir: spec.cwd, limitBytes: 8 * MB, freeDir: dir, minFreeBytes: MB, intervalMs: 100 } });
    expect(run).toMatchObject({ end: "exited", exitCode: 0 });
    expect(run.disk).toBeUndefined();
  });

  it("kills a payload when the node's free disk falls below the floor", async () => {
    const spec = base("node-full");
    const floor = (await freeBytes(dir)) * 2;
    const run = await runPayload({ ...spec, argv: ["node", "-e", "setTimeout(() => {}, 60000)"], disk: { dir: spec.cwd, limitBytes: 100 * MB, freeDir: dir, minFreeBytes: floor, intervalMs: 100 } });
    expect(run.end).toBe("out_of_disk");
    expect(run.disk?.cause).toBe("node");
    expect(judgeRun(run, ["node"], { softS: 0, hardS: 30, memoryMb: 0 }, []).message).toMatch(/^the node's free disk fell to \d+ MB while the payload's scratch used 0 MB \(its diskMB is 100 MB\)/);
  });
});
