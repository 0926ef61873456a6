// DIR/cluster.json as the local cluster's commands share it: read, written
// whole by rename (mode 0600: it holds the cluster's secrets), and changed
// under a lock so commands run side by side keep each other's changes.
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { ErrorCode, OrreryError } from "../errors.js";
import { ClusterFileSchema, type ClusterFile, type ClusterProcess } from "./cluster-file.js";

export function clusterFilePath(dir: string): string {
  return join(resolve(dir), "cluster.json");
}

export function readCluster(dir: string): ClusterFile | undefined {
  const file = clusterFilePath(dir);
  if (!existsSync(file)) return undefined;
  return ClusterFileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
}

/** Written whole and renamed into place: a reader never sees half a file. */
export function writeCluster(cluster: ClusterFile): void {
  // The operator's file: it holds the cluster's tokens and passwords (0600, made so before it is filled).
  const file = clusterFilePath(cluster.dir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(cluster, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

/**
 * Changes one process's entry in the cluster file as it is now, read and
 * written in one synchronous step: restarts that run at the same time (in this
 * process or another) each keep the others' changes.
 */
export function updateClusterProcess(dir: string, name: string, change: Partial<ClusterProcess>): ClusterProcess {
  return updateCluster(dir, (cluster) => {
    const proc = cluster.processes.find((p) => p.name === name);
    if (!proc) throw new OrreryError(ErrorCode.NOT_FOUND, `the local cluster in ${resolve(dir)} has no process "${name}" any more`);
    Object.assign(proc, change);
    return proc;
  });
}

const LOCK_STALE_MS = 5000;

/**
 * Reads, changes and writes the cluster file under a lock file, so commands
 * run side by side (several `local restart` and `local agent add`) never drop
 * each other's changes. A lock older than LOCK_STALE_MS was left by a killed
 * command (the lock is held for milliseconds) and is taken over.
 */
export function updateCluster<T>(dir: string, change: (cluster: ClusterFile) => T): T {
  const lock = `${clusterFilePath(dir)}.lock`;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx"));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) rmSync(lock, { force: true });
      } catch {
        // released meanwhile
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
  try {
    const cluster = readCluster(dir);
    if (!cluster) throw new OrreryError(ErrorCode.UNAVAILABLE, `no local cluster in ${resolve(dir)}`, { hint: "start one with `orrery local up`" });
    const result = change(cluster);
    writeCluster(cluster);
    return result;
  } finally {
    rmSync(lock, { force: true });
  }
}
