import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive } from "../../common/local/child.js";
import { killOrphanGroup, processGroupId } from "./process-group.js";

/** A detached shell (its own group) that starts background sleeps and prints their pids. */
function group(script: string): Promise<{ child: ChildProcess; pids: number[] }> {
  const child = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "ignore"], detached: true });
  return new Promise((resolve) => child.stdout!.once("data", (d: Buffer) => resolve({ child, pids: d.toString().trim().split(/\s+/).map(Number) })));
}

describe("orphan payload groups", () => {
  const started: number[] = [];
  afterEach(() => {
    for (const pgid of started.splice(0)) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // gone
      }
    }
  });

  it("names a group by its leader's start time and boot id", async () => {
    const { child } = await group("sleep 30 & echo $!; wait");
    started.push(child.pid!);
    const id = await processGroupId(child.pid!);
    const stat = readFileSync(`/proc/${child.pid!}/stat`, "utf8");
    expect(id).toEqual({ pgid: child.pid, startTicks: Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]), bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() });
    expect(await processGroupId(2 ** 22 + 1)).toBeUndefined();
  });

  it("kills the whole group and waits until it is gone", async () => {
    const { child, pids } = await group("sleep 30 & echo $!; wait");
    started.push(child.pid!);
    const id = (await processGroupId(child.pid!))!;
    const res = await killOrphanGroup(id);
    expect(res.kind).toBe("killed");
    expect(isAlive(pids[0]!)).toBe(false);
    expect(isAlive(child.pid!)).toBe(false);
    expect(await killOrphanGroup(id)).toEqual({ kind: "gone" });
  });

  it("leaves alone a pid that now leads another process", async () => {
    const { child, pids } = await group("sleep 30 & echo $!; wait");
    started.push(child.pid!);
    const id = (await processGroupId(child.pid!))!;
    expect(await killOrphanGroup({ ...id, startTicks: id.startTicks - 1 })).toEqual({ kind: "reused" });
    expect(isAlive(pids[0]!)).toBe(true);
    // Recorded on another boot: nothing of it can still run.
    expect(await killOrphanGroup({ ...id, bootId: "another-boot" })).toEqual({ kind: "gone" });
    expect(isAlive(child.pid!)).toBe(true);
  });

  it("kills what is left of a group whose leader has exited", async () => {
    const { child, pids } = await group("sleep 30 & echo $!");
    started.push(child.pid!);
    const id = (await processGroupId(child.pid!)) ?? { pgid: child.pid!, startTicks: 0, bootId: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() };
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)));
    expect(isAlive(pids[0]!)).toBe(true);
    const res = await killOrphanGroup(id);
    expect(res).toEqual({ kind: "killed", pids: [pids[0]] });
    expect(isAlive(pids[0]!)).toBe(false);
  });
});
