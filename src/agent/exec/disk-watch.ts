// Disk use of a running payload: its scratch directory against the quantum's
// diskMB, and the node's free space against a floor. Walking a directory costs
// I/O, so it is sampled at a modest interval, and only while a payload runs.
import { lstat, opendir, statfs } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface DiskLimits {
  /** The lease's scratch directory, walked at each sample. */
  dir: string;
  /** The scratch may hold at most this (0: no limit). */
  limitBytes: number;
  /** The node's free space (statfs of this directory's file system) may not fall below `minFreeBytes` (0: not watched). */
  freeDir: string;
  minFreeBytes: number;
  intervalMs?: number;
}

/** Why a payload's disk use was found over: its own limit, or the node running out. */
export interface DiskOverrun {
  cause: "limit" | "node";
  usedBytes: number;
  limitBytes: number;
  /** Free on the node at the sample (for cause "node"). */
  nodeFreeBytes: number;
}

export const DEFAULT_DISK_SAMPLE_MS = 1000;

/**
 * Bytes a directory tree takes: per file the larger of its length and its
 * allocated blocks (a file being written may have either ahead). Symlinks are
 * not followed; entries that vanish mid-walk count as nothing.
 */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const next = pending.pop()!;
    let entries;
    try {
      entries = await opendir(next);
    } catch {
      continue;
    }
    for await (const e of entries) {
      const path = join(next, e.name);
      if (e.isDirectory()) {
        pending.push(path);
        continue;
      }
      try {
        const st = await lstat(path);
        total += Math.max(st.size, st.blocks * 512);
      } catch {
        // removed between listing and stat
      }
    }
  }
  return total;
}

/** Bytes an unprivileged process may still write on the file system holding `dir` (or its nearest existing parent). */
export async function freeBytes(dir: string): Promise<number> {
  for (let at = dir; ; at = dirname(at)) {
    try {
      const s = await statfs(at);
      return s.bavail * s.bsize;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || dirname(at) === at) throw err;
    }
  }
}

/** One look at the disk: the overrun found, if any. */
export async function checkDisk(limits: DiskLimits): Promise<DiskOverrun | undefined> {
  const [used, free] = await Promise.all([treeBytes(limits.dir), limits.minFreeBytes > 0 ? freeBytes(limits.freeDir) : Promise.resolve(Infinity)]);
  if (limits.limitBytes > 0 && used > limits.limitBytes) return { cause: "limit", usedBytes: used, limitBytes: limits.limitBytes, nodeFreeBytes: free };
  if (free < limits.minFreeBytes) return { cause: "node", usedBytes: used, limitBytes: limits.limitBytes, nodeFreeBytes: free };
  return undefined;
}

/**
 * Samples the disk every `intervalMs` until stopped; calls `onOverrun` once,
 * at the first sample over. A sample never overlaps the previous one.
 */
export function watchDisk(limits: DiskLimits, onOverrun: (o: DiskOverrun) => void): { stop(): void } {
  let busy = false;
  let done = false;
  const timer = setInterval(() => {
    if (busy || done) return;
    busy = true;
    checkDisk(limits)
      .then(
        (over) => {
          if (done) return;
          if (over) {
            done = true;
            clearInterval(timer);
            onOverrun(over);
          }
        },
        () => undefined, // a statfs or walk that fails (the scratch being removed) is tried again at the next tick
      )
      .finally(() => (busy = false));
  }, limits.intervalMs ?? DEFAULT_DISK_SAMPLE_MS);
  return {
    stop: () => {
      done = true;
      clearInterval(timer);
    },
  };
}
