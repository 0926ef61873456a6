import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { join } from "node:path";
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

export async function startNats(opts: ServerOptions): Promise<NatsServer> {
  const bin = findBinary("nats-server");
  const port = opts.port ?? (await freePort());
  const store = join(opts.dir, "nats");
  mkdirSync(store, { recursive: true });
  const svc = await startService({
    name: "nats",
    command: bin,
    args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store],
    logFile: join(opts.logDir, "nats.log"),
    readiness: { kind: "tcp", port },
  });
  return { ...svc, url: `nats://127.0.0.1:${port}` };
}

export interface RedisServer extends StartedService {
  url: string;
}

export async function startRedis(opts: ServerOptions): Promise<RedisServer> {
  const bin = findBinary("redis-server");
  const port = opts.port ?? (await freePort());
  const data = join(opts.dir, "redis");
  mkdirSync(data, { recursive: true });
  const svc = await startService({
    name: "redis",
    command: bin,
    // AOF on, fsync every second: state acknowledged to a user survives a crash of redis itself.
    args: ["--port", String(port), "--bind", "127.0.0.1", "--dir", data, "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "yes"],
    logFile: join(opts.logDir, "redis.log"),
    readiness: { kind: "probe", probe: redisPing(port) },
  });
  return { ...svc, url: `redis://127.0.0.1:${port}` };
}

function redisPing(port: number): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const sock = connect({ port, host: "127.0.0.1" });
      sock.once("connect", () => sock.write("PING\r\n"));
      sock.once("data", (d) => {
        sock.destroy();
        resolve(d.toString().startsWith("+PONG"));
      });
      sock.once("error", () => resolve(false));
    });
}

export interface S3Server extends StartedService {
  endpoint: string;
}

/** An S3 endpoint (s3rver) with the given buckets created at start. */
export async function startS3(opts: ServerOptions & { name: string; buckets: string[] }): Promise<S3Server> {
  const port = opts.port ?? (await freePort());
  const data = join(opts.dir, opts.name);
  mkdirSync(data, { recursive: true });
  const require = createRequire(import.meta.url);
  const bin = join(require.resolve("s3rver/package.json"), "..", "bin", "s3rver.js");
  const args = [bin, "-d", data, "-a", "127.0.0.1", "-p", String(port), "--silent"];
  for (const b of opts.buckets) args.push("--configure-bucket", b);
  const svc = await startService({
    name: opts.name,
    command: process.execPath,
    args,
    logFile: join(opts.logDir, `${opts.name}.log`),
    readiness: { kind: "tcp", port },
  });
  return { ...svc, endpoint: `http://127.0.0.1:${port}` };
}

export { tcpProbe };
