// One harness for every integration test: real servers on random loopback
// ports in a temp dir, started by the same launcher code as `orrery local up`.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNats, startRedis, startS3, type NatsServer, type RedisServer, type S3Server } from "../src/common/local/servers.js";
import { startService, stopProcess } from "../src/common/local/child.js";
import type { ClusterFile } from "../src/common/local/cluster-file.js";
import { ORRERY_BIN } from "./cli-runner.js";
import { allStarted, roleEnv } from "../src/common/local/cluster.js";

export interface TestServers {
  dir: string;
  nats: NatsServer;
  redis: RedisServer;
  s3: S3Server;
  stop(): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `orrery-${prefix}-`));
}

/** nats-server (JetStream), redis-server (AOF) and one s3rver with `buckets`. */
export async function startTestServers(prefix: string, buckets: string[] = ["test-disk"]): Promise<TestServers> {
  const dir = tempDir(prefix);
  const logDir = join(dir, "logs");
  mkdirSync(logDir, { recursive: true });
  try {
    const [nats, redis, s3] = await allStarted([startNats({ dir, logDir }), startRedis({ dir, logDir }), startS3({ dir, logDir, name: "s3", buckets })] as const);
    const stop = async () => {
      await Promise.all([nats, redis, s3].map((s) => stopProcess(s.pid)));
      rmSync(dir, { recursive: true, force: true });
    };
    return { dir, nats, redis, s3, stop };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Kills the cluster's coordinator with SIGKILL; returns a function that starts it again on the same address, data and servers (resolving to its pid). */
export function killCoordinator(cluster: ClusterFile, dir: string): () => Promise<number> {
  const coord = cluster.processes.find((p) => p.role === "coordinator")!;
  process.kill(coord.pid, "SIGKILL");
  return async () => {
    const restarted = await startService({
      name: "coordinator",
      command: process.execPath,
      args: [ORRERY_BIN, "coordinator", "--listen", cluster.coordinator, "--nats", cluster.nats, "--redis", cluster.redis],
      logFile: join(dir, "logs", "coordinator-restarted.log"),
      // The coordinator's NATS user and Redis password, as `local up` gives them.
      env: roleEnv(cluster, "coordinator"),
      readiness: { kind: "ipc" },
    });
    return restarted.pid;
  };
}

/** Polls `check` every 50 ms until it holds, or throws after `ms` naming what was awaited. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
