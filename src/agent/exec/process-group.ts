// A payload's process group, named so that a later agent can find it again
// and kill it without hitting an unrelated process that reused the pid: the
// leader's start time (/proc/<pid>/stat field 22, ticks since boot) and the
// boot id tell a reused pid apart.
import { readdir, readFile } from "node:fs/promises";

export interface ProcessGroupId {
  /** The group's id: its leader's pid. */
  pgid: number;
  /** The leader's start time, in clock ticks since boot. */
  startTicks: number;
  bootId: string;
}

interface ProcStat {
  state: string;
  pgrp: number;
  startTicks: number;
}

async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "", pgrp: Number(rest[2]), startTicks: Number(rest[19]) };
}

async function bootId(): Promise<string> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return "";
  }
}

/** The identity of the group `pgid` leads now; undefined when it is already gone. */
export async function processGroupId(pgid: number): Promise<ProcessGroupId | undefined> {
  const [stat, boot] = await Promise.all([readProcStat(pgid), bootId()]);
  return stat === undefined ? undefined : { pgid, startTicks: stat.startTicks, bootId: boot };
}

/** Live (not zombie) members of group `pgid`, from a scan of /proc. */
async function liveMembers(pgid: number): Promise<number[]> {
  const pids = (await readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number);
  const stats = await Promise.all(pids.map(async (pid) => ({ pid, stat: await readProcStat(pid) })));
  return stats.filter(({ stat }) => stat !== undefined && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X").map(({ pid }) => pid);
}

export type OrphanKill =
  | { kind: "gone" }
  /** The pid now leads another process: not ours, left alone. */
  | { kind: "reused" }
  | { kind: "killed"; pids: number[] }
  /** SIGKILL sent, but these were still there when the wait ended. */
  | { kind: "survived"; pids: number[] };

/**
 * Kills what is left of a recorded group with SIGKILL and waits (up to
 * `waitMs`) until none of it lives. A group whose leader is gone may still
 * have members: while it does, the kernel keeps its id from being reused, so
 * they are the recorded group's. A leader with another start time is not.
 */
export async function killOrphanGroup(group: ProcessGroupId, waitMs = 5000): Promise<OrphanKill> {
  if (group.bootId !== (await bootId())) return { kind: "gone" }; // the node rebooted: nothing of it survived
  const leader = await readProcStat(group.pgid);
  if (leader !== undefined && leader.state !== "Z" && leader.startTicks !== group.startTicks) return { kind: "reused" };
  const members = await liveMembers(group.pgid);
  if (members.length === 0) return { kind: "gone" };
  try {
    process.kill(-group.pgid, "SIGKILL");
  } catch {
    // gone since the scan
  }
  const until = Date.now() + waitMs;
  let left = await liveMembers(group.pgid);
  while (left.length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    left = await liveMembers(group.pgid);
  }
  return left.length === 0 ? { kind: "killed", pids: members } : { kind: "survived", pids: left };
}
