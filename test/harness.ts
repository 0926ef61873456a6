// One harness for every integration test: real servers on random loopback
// ports in a temp dir, started by the same launcher code as `orrery local up`.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNats, startRedis, startS3, type NatsServer, type RedisServer, type S3Server } from "../src/common/local/servers.js";
import { stopProcess } from "../src/common/local/child.js";
import { allStarted } from "../src/common/local/cluster.js";

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
