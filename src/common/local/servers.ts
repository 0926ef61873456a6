import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectNats, type NatsAuth } from "../nats.js";
import { findBinary } from "./binaries.js";
import { freePort } from "./ports.js";
import { startService, tcpProbe, type StartedService } from "./child.js";

/** Servers of a local cluster or a test: each on a random loopback port with its own dir. */
export interface ServerOptions {
  dir: string;
  logDir: string;
  port?: number;
}

export interface NatsServer extends StartedService {
  url: string;
}

/** nats-server; with `config` (users and permissions, see cluster-security.ts) written to DIR/nats/nats.conf, mode 0600. */
export async function startNats(opts: ServerOptions & { config?: string }): Promise<NatsServer> {
  const bin = findBinary("nats-server");
  const port = opts.port ?? (await freePort());
  const store = join(opts.dir, "nats");
  mkdirSync(store, { recursive: true });
  const args = ["-a", "127.0.0.1", "-p", String(port)];
  if (opts.config !== undefined) args.push("-c", writeNatsConf(store, opts.config));
  else args.push("-js", "-sd", store);
  const svc = await startService({
    name: "nats",
    command: bin,
    args,
    logFile: join(opts.logDir, "nats.log"),
    readiness: { kind: "tcp", port },
  });
  return { ...svc, url: `nats://127.0.0.1:${port}` };
}

/**
 * Writes `config` (JSON, valid in nats-server's format) to STORE/nats.conf,
 * mode 0600, with JetStream in it: a reload of a file without it would shut
 * JetStream down even when the command line enabled it.
 */
function writeNatsConf(store: string, config: string): string {
  const file = join(store, "nats.conf");
  const withJetStream = { ...(JSON.parse(config) as Record<string, unknown>), jetstream: { store_dir: store } };
  writeFileSync(file, `${JSON.stringify(withJetStream, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

/**
 * Rewrites a running nats-server's configuration (DIR/nats/nats.conf) and has
 * it reload (SIGHUP); resolves once `probe` (a user the new configuration
 * adds) is let in, or after 10 s (the caller's next connect then says why).
 */
export async function reloadNats(dir: string, pid: number, config: string, url: string, probe: NatsAuth): Promise<void> {
  writeNatsConf(join(dir, "nats"), config);
  process.kill(pid, "SIGHUP");
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      await (await connectNats(url, "orrery-local-reload", probe)).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface RedisServer extends StartedService {
  url: string;
}

/** redis-server; with `password` in a config file of mode 0600 (not argv, which `ps` shows). */
export async function startRedis(opts: ServerOptions & { password?: string }): Promise<RedisServer> {
  const bin = findBinary("redis-server");
  const port = opts.port ?? (await freePort());
  const data = join(opts.dir, "redis");
  mkdirSync(data, { recursive: true });
  const config: string[] = [];
  if (opts.password !== undefined) {
    const file = join(data, "redis.conf");
    writeFileSync(file, `requirepass "${opts.password}"\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    config.push(file);
  }
  const svc = await startService({
    name: "redis",
    command: bin,
    // AOF on, fsync every second: state acknowledged to a user survives a crash of redis itself.
    args: [...config, "--port", String(port), "--bind", "127.0.0.1", "--dir", data, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "yes"],
    logFile: join(opts.logDir, "redis.log"),
    readiness: { kind: "probe", probe: redisPing(port, opts.password) },
  });
  return { ...svc, url: `redis://127.0.0.1:${port}` };
}

function redisPing(port: number, password: string | undefined): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const sock = connect({ port, host: "127.0.0.1" });
      let got = "";
      const auth = password === undefined ? "" : `AUTH "${password}"\r\n`;
      sock.once("connect", () => sock.write(`${auth}PING\r\n`));
      sock.on("data", (d) => {
        got += d.toString();
        // The last reply is PING's; an AUTH reply (+OK) comes first.
        if (!got.includes("+PONG") && !got.includes("-")) return;
        sock.destroy();
        resolve(got.includes("+PONG"));
      });
      sock.once("error", () => resolve(false));
    });
}

export interface S3Server extends StartedService {
  endpoint: string;
}

// Our wrapper of s3rver (s3-server.ts), run from dist/ whether this module runs from src/ or dist/.
const S3_SERVER = fileURLToPath(new URL("../../../dist/common/local/s3-server.js", import.meta.url));

/**
 * An S3 endpoint (s3rver) with the given buckets created at start. With `key`
 * (given by environment) it takes only requests signed with that key; without,
 * any (s3rver's own behaviour).
 */
export async function startS3(opts: ServerOptions & { name: string; buckets: string[]; key?: { accessKeyId: string; secretAccessKey: string } }): Promise<S3Server> {
  const port = opts.port ?? (await freePort());
  const data = join(opts.dir, opts.name);
  mkdirSync(data, { recursive: true });
  const args = [S3_SERVER, "--directory", data, "--address", "127.0.0.1", "--port", String(port)];
  for (const b of opts.buckets) args.push("--bucket", b);
  const env: NodeJS.ProcessEnv = { ...process.env, ORRERY_S3_SERVER_KEY: opts.key === undefined ? "" : JSON.stringify(opts.key) };
  const svc = await startService({
    name: opts.name,
    command: process.execPath,
    args,
    env,
    logFile: join(opts.logDir, `${opts.name}.log`),
    readiness: { kind: "tcp", port },
  });
  return { ...svc, endpoint: `http://127.0.0.1:${port}` };
}

export { tcpProbe };
