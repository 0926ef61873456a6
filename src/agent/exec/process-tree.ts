// Resource use of a payload's whole process tree, read from /proc: a payload
// may fork helpers, and the memory limit is on what they hold together. The
// tree is walked from its root through the kernel's children lists, so a
// sample costs a few reads per process of the tree, not a scan of the node.
import { readdir, readFile } from "node:fs/promises";

export interface TreeSample {
  /** Live processes of the tree (the root included). */
  pids: number[];
  /** VmRSS summed over the tree. */
  rssBytes: number;
  /** Largest VmHWM (peak RSS) of a single process of the tree. */
  hwmBytes: number;
  /** utime+stime of live processes, plus children already reaped by them. */
  cpuSeconds: number;
}

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI Node supports.
const CLOCK_TICKS = 100;

interface StatLine {
  pid: number;
  ppid: number;
  cpuTicks: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function parseStat(text: string): StatLine | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is state (field 3); ppid is field 4, utime..cstime are fields 14..17.
  const ppid = Number(rest[1]);
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(rest[i] ?? 0), 0);
  return { pid, ppid, cpuTicks: ticks };
}

async function readStat(pid: number): Promise<StatLine | undefined> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined; // gone between listing and reading
  }
}

async function readMemory(pid: number): Promise<{ rss: number; hwm: number }> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/**
 * Children of a process, from /proc/<pid>/task/<tid>/children of each of its
 * threads; undefined when the kernel has no such files (then /proc is scanned).
 */
async function childPids(pid: number): Promise<number[] | undefined> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  const lists = await Promise.all(
    tids.map(async (tid) => {
      try {
        return await readFile(`/proc/${pid}/task/${tid}/children`, "utf8");
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === "ENOENT" && tid === String(pid) ? undefined : "";
      }
    }),
  );
  if (lists.some((l) => l === undefined) && (await procChildrenMissing())) return undefined;
  return lists.flatMap((l) => (l ?? "").split(" ").filter((x) => x !== "").map(Number));
}

let childrenFilesMissing: Promise<boolean> | undefined;
/** Whether this kernel lacks /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN), checked once on ourselves. */
function procChildrenMissing(): Promise<boolean> {
  childrenFilesMissing ??= readFile(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").then(
    () => false,
    () => true,
  );
  return childrenFilesMissing;
}

/** The processes under `root` (itself first), walking the children files; by a scan of all of /proc without them. */
async function treeOf(root: StatLine): Promise<StatLine[]> {
  const tree: StatLine[] = [];
  const queue: StatLine[] = [root];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    const kids = await childPids(next.pid);
    if (kids === undefined) return scanTreeOf(root);
    const stats = await Promise.all(kids.map((k) => readStat(k)));
    for (const s of stats) if (s !== undefined) queue.push(s);
  }
  return tree;
}

async function scanTreeOf(root: StatLine): Promise<StatLine[]> {
  const entries = await readdir("/proc");
  const stats = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((e) => readStat(Number(e))));
  const childrenOf = new Map<number, StatLine[]>();
  for (const s of stats) {
    if (s === undefined) continue;
    const list = childrenOf.get(s.ppid);
    if (list) list.push(s);
    else childrenOf.set(s.ppid, [s]);
  }
  const tree: StatLine[] = [];
  const queue: StatLine[] = [root];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(childrenOf.get(next.pid) ?? []));
  }
  return tree;
}

/** One sample of the tree rooted at `rootPid`; empty when the root is gone. Reads only the tree's own /proc entries. */
export async function sampleProcessTree(rootPid: number): Promise<TreeSample> {
  const root = await readStat(rootPid);
  if (root === undefined) return { pids: [], rssBytes: 0, hwmBytes: 0, cpuSeconds: 0 };
  const tree = await treeOf(root);
  const mems = await Promise.all(tree.map((s) => readMemory(s.pid)));
  return {
    pids: tree.map((s) => s.pid),
    rssBytes: mems.reduce((sum, m) => sum + m.rss, 0),
    hwmBytes: Math.max(0, ...mems.map((m) => m.hwm)),
    cpuSeconds: tree.reduce((sum, s) => sum + s.cpuTicks, 0) / CLOCK_TICKS,
  };
}

/** Whether this machine has /proc to watch payloads with. */
export async function procAvailable(): Promise<boolean> {
  return (await readStat(process.pid)) !== undefined;
}
