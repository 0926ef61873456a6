// `orrery local up`: the whole cluster on one machine, each piece a child
// process with a log and a readiness check. The test harness uses this too.
import { mkdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { ErrorCode, OrreryError } from "../errors.js";
import { connectNats, NATS_INBOX_ENV } from "../nats.js";
import { DbbClient } from "../dbb-client.js";
import { S3_KEYS_ENV, s3Credentials, type S3KeyPair } from "../s3.js";
import { REDIS_PASSWORD_ENV } from "../redis-auth.js";
import { makeDataSecurity, natsAuthOf, natsServerConfig, newAgentNatsUser, redisServerPassword, s3ServerKey, type NatsRole } from "./cluster-security.js";
import { freePort } from "./ports.js";
import { isAlive, startService, stopProcess } from "./child.js";
import { reloadNats, startNats, startRedis, startS3 } from "./servers.js";
import type { ClusterFile, ClusterProcess } from "./cluster-file.js";
import { clusterFilePath, readCluster, updateCluster, writeCluster } from "./cluster-store.js";
import { StorageTier } from "../../gen/orrery/v1/common_pb.js";
import { caFile, coordinatorTlsFiles, makeClusterTls, newToken } from "./tls.js";
import { metadataUrlOf, spotAgentArgs, startMetadata } from "./metadata.js";
import { SLURM_SITE, startSlurm, stopSlurm, type SlurmOptions } from "./slurm.js";
import { PILOTS_NATS_USER, pilotFactoryArgs, type LocalPilotOptions } from "./pilot-factory.js";

export interface ClusterOptions {
  dir: string;
  sites?: number;
  agents?: number;
  spot?: number;
  /** Where agents resolve relative program paths (default: the current directory). */
  softwareRoot?: string;
  agentCores?: number;
  agentMemoryMB?: number;
  agentDiskMB?: number;
  /** Leases each agent keeps waiting beyond its free capacity, in multiples of it (agent --prefetch; default the agent's). */
  agentPrefetch?: number;
  /** How long a quantum waits for an agent at its data's site (coordinator --locality-delay). */
  localityDelayMs?: number;
  /** Extra flags of the dbb process (e.g. ["--repair-delay", "1s"]). */
  dbbArgs?: string[];
  /** Pre-staging of waiting quanta's inputs to idle sites (coordinator --prestage; default on) and how often it looks (--prestage-interval). */
  prestage?: boolean;
  prestageIntervalMs?: number;
  /** Coordinator lease TTL and heartbeat, shortened by tests of lost agents. */
  leaseTtlMs?: number;
  heartbeatMs?: number;
  onProgress?: (message: string) => void;
  /** An open cluster: no TLS, no tokens, no NATS users, no Redis password, no S3 keys (`local up --insecure`; the benches' baseline). */
  insecure?: boolean;
  /** A real Slurm (munged, slurmctld, slurmd under DIR/slurm) and the site site-hpc it serves, which has no static agents: its pilot factory starts pilots there. */
  slurm?: boolean | SlurmOptions;
  pilots?: LocalPilotOptions;
}

const SITE_NAMES = ["site-a", "site-b", "site-c", "site-d", "site-e", "site-f"];
const ORRERY_BIN = fileURLToPath(new URL("../../../bin/orrery.mjs", import.meta.url));


export async function startCluster(opts: ClusterOptions): Promise<ClusterFile> {
  const dir = resolve(opts.dir);
  const existing = readCluster(dir);
  if (existing && existing.processes.some((p) => isAlive(p.pid))) {
    throw new OrreryError(ErrorCode.ALREADY_EXISTS, `a local cluster is already running in ${dir}`, { hint: "use it, or stop it first with `orrery local down`" });
  }
  const siteCount = opts.sites ?? 2;
  if (siteCount < 1 || siteCount > SITE_NAMES.length) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--sites must be 1..${SITE_NAMES.length}`);
  }
  const staticSites = SITE_NAMES.slice(0, siteCount);
  const sites = opts.slurm ? [...staticSites, SLURM_SITE] : staticSites;
  const logDir = join(dir, "logs");
  const dataDir = join(dir, "data");
  mkdirSync(logDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  const say = opts.onProgress ?? (() => undefined);
  const processes: ClusterProcess[] = [];
  const cluster: ClusterFile = { version: 1, dir, coordinator: "", nats: "", redis: "", s3: {}, credentials: s3Credentials(), sites, processes };
  const agents = opts.agents ?? 4;
  const spot = Math.min(opts.spot ?? 0, agents);
  const agentSlots = Array.from({ length: agents }, (_, i) => ({ site: staticSites[i % staticSites.length]!, spot: i >= agents - spot, index: i + 1 }));
  if (opts.insecure !== true) {
    const data = makeDataSecurity(sites);
    const natsAgents = [...agentSlots.map((a) => agentIdOf(a)), ...(opts.slurm ? [PILOTS_NATS_USER] : [])];
    data.nats.agents = Object.fromEntries(natsAgents.map((id) => [id, newAgentNatsUser(id)]));
    cluster.security = { ca: caFile(dir), tokens: { operator: newToken(), agent: newToken() }, ...data };
  }
  try {
    say("starting nats-server, redis-server and S3 endpoints");
    const [nats, redis, ...s3s] = await allStarted([
      startNats({ dir: dataDir, logDir, ...natsServerConfig(cluster) }),
      startRedis({ dir: dataDir, logDir, ...redisServerPassword(cluster) }),
      ...sites.map((site, i) => startS3({ dir: dataDir, logDir, name: `s3-${site}`, buckets: siteBuckets(site, i), ...s3ServerKey(cluster, site) })),
    ] as const);
    cluster.nats = nats.url;
    cluster.redis = redis.url;
    processes.push({ name: "nats", role: "nats", pid: nats.pid, address: nats.url, log: join(logDir, "nats.log") });
    processes.push({ name: "redis", role: "redis", pid: redis.pid, address: redis.url, log: join(logDir, "redis.log") });
    sites.forEach((site, i) => {
      const s3 = s3s[i]!;
      cluster.s3[site] = s3.endpoint;
      processes.push({ name: `s3-${site}`, role: "s3", site, pid: s3.pid, address: s3.endpoint, log: join(logDir, `s3-${site}.log`) });
    });

    if (opts.slurm) {
      say("starting munged, slurmctld and slurmd");
      const slurm = await startSlurm(dir, opts.slurm === true ? {} : opts.slurm);
      processes.push(...slurm.processes);
      cluster.slurm = { conf: slurm.conf };
    }

    if (cluster.security) {
      say("making the cluster's CA and the coordinator's certificate");
      await makeClusterTls(dir);
    }

    say("starting the data backbone");
    // Fixed metrics ports: `local restart` starts a process again with the same arguments, at the same address.
    const dbbMetrics = `127.0.0.1:${await freePort()}`;
    const dbbArgs = ["dbb", "--nats", nats.url, "--redis", redis.url, "--metrics", dbbMetrics, ...(opts.dbbArgs ?? [])];
    const dbb = await startOrrery("dbb", dbbArgs, logDir, roleEnv(cluster, "dbb"));
    processes.push({ name: "dbb", role: "dbb", pid: dbb.pid, address: nats.url, log: join(logDir, "dbb.log"), args: dbbArgs, metrics: dbbMetrics });
    await registerRses(cluster);

    say("starting the coordinator");
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    // The HTTP side's port is fixed here too, so a restarted coordinator keeps its dashboard URL.
    const http = `127.0.0.1:${await freePort()}`;
    const coordArgs = ["coordinator", "--listen", listen, "--nats", nats.url, "--redis", redis.url, "--http", http];
    if (opts.leaseTtlMs !== undefined) coordArgs.push("--lease-ttl", String(opts.leaseTtlMs));
    if (opts.heartbeatMs !== undefined) coordArgs.push("--heartbeat", String(opts.heartbeatMs));
    if (opts.localityDelayMs !== undefined) coordArgs.push("--locality-delay", `${opts.localityDelayMs / 1000}s`);
    if (opts.prestage === false) coordArgs.push("--prestage", "off");
    if (opts.prestageIntervalMs !== undefined) coordArgs.push("--prestage-interval", `${opts.prestageIntervalMs / 1000}s`);
    cluster.coordinator = listen;
    cluster.http = http;
    const coord = await startOrrery("coordinator", coordArgs, logDir, roleEnv(cluster, "coordinator"));
    processes.push({ name: "coordinator", role: "coordinator", pid: coord.pid, address: listen, log: join(logDir, "coordinator.log"), args: coordArgs });
    writeCluster(cluster);

    if (spot > 0) {
      say("starting the instance-metadata service of the spot agents");
      const md = await startMetadata({ dataDir, logDir });
      processes.push({ name: "metadata", role: "metadata", pid: md.pid, address: md.url, log: join(logDir, "metadata.log") });
    }

    say(`starting ${agents} agent${agents === 1 ? "" : "s"}`);
    const started = await Promise.all(agentSlots.map((a) => startAgent(cluster, { ...a, opts })));
    processes.push(...started);
    if (cluster.slurm) {
      say("starting the pilot factory of site-hpc");
      const args = pilotFactoryArgs(dir, opts.softwareRoot ?? process.cwd(), opts.pilots);
      const factory = await startOrrery("pilots", args, logDir, pilotsEnv(cluster));
      processes.push({ name: "pilots", role: "pilots", site: SLURM_SITE, pid: factory.pid, address: cluster.slurm.conf, log: join(logDir, "pilots.log"), args });
    }
    writeCluster(cluster);
    return cluster;
  } catch (err) {
    await Promise.all(processes.map((p) => stopProcess(p.pid, 2000)));
    rmSync(clusterFilePath(dir), { force: true });
    throw err;
  }
}

/**
 * Waits for every server to start; if one fails, stops those that did start
 * (even ones that finished after the failure) before reporting it.
 */
export async function allStarted<T extends readonly Promise<{ pid: number }>[]>(starts: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(starts);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    const started = results.filter((r): r is PromiseFulfilledResult<Awaited<T[number]>> => r.status === "fulfilled");
    await Promise.all(started.map((r) => stopProcess(r.value.pid, 2000)));
    throw failed.reason;
  }
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** One more agent in a running local cluster. */
export async function addAgent(dir: string, site: string | undefined, spot: boolean): Promise<ClusterProcess> {
  const cluster = readCluster(dir);
  if (!cluster) throw new OrreryError(ErrorCode.UNAVAILABLE, `no local cluster in ${resolve(dir)}`, { hint: "start one with `orrery local up`" });
  const s = site ?? cluster.sites[0]!;
  if (!cluster.sites.includes(s)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `no site ${s} in this cluster (sites: ${cluster.sites.join(", ")})`);
  const index = cluster.processes.filter((p) => p.role === "agent").length + 1;
  const withUser = cluster.security?.nats ? await addAgentNatsUser(dir, agentIdOf({ site: s, spot, index })) : cluster;
  const withMetadata = spot ? await ensureMetadata(dir, withUser) : withUser;
  const proc = await startAgent(withMetadata, { site: s, spot, index, opts: {} });
  // As the file is now: restarts may have changed it while the agent started.
  updateCluster(dir, (now) => now.processes.push(proc));
  return proc;
}

/** Stops agents first, servers last, so nothing in flight loses its peer early. */
export async function stopCluster(dir: string): Promise<ClusterFile | undefined> {
  const cluster = readCluster(dir);
  if (!cluster) return undefined;
  const stopRole = (role: ClusterProcess["role"]) => Promise.all(cluster.processes.filter((p) => p.role === role).map((p) => stopProcess(p.pid, role === "agent" ? 10_000 : 5000)));
  // The pilot factory first: it cancels its queued jobs.
  await stopRole("pilots");
  await stopRole("agent");
  // Pilot jobs cancelled (their agents leave) while the coordinator still runs.
  if (cluster.slurm) await stopSlurm(cluster);
  for (const role of ["metadata", "coordinator", "dbb", "s3", "nats", "redis"] as const) await stopRole(role);
  rmSync(clusterFilePath(dir), { force: true });
  return cluster;
}

/**
 * The first spot agent of a cluster started without any brings up the
 * instance-metadata service. Two `agent add --spot` side by side may both
 * start one: the first recorded stays, the other is stopped.
 */
async function ensureMetadata(dir: string, cluster: ClusterFile): Promise<ClusterFile> {
  if (metadataUrlOf(cluster) !== undefined) return cluster;
  const md = await startMetadata({ dataDir: join(cluster.dir, "data"), logDir: join(cluster.dir, "logs") });
  const now = updateCluster(dir, (c) => {
    if (metadataUrlOf(c) === undefined) c.processes.push({ name: "metadata", role: "metadata", pid: md.pid, address: md.url, log: join(c.dir, "logs", "metadata.log") });
    return c;
  });
  if (metadataUrlOf(now) !== md.url) await stopProcess(md.pid, 2000);
  return now;
}

function agentIdOf(a: { site: string; spot: boolean; index: number }): string {
  return `agent-${a.index}-${a.site}${a.spot ? "-spot" : ""}`;
}

/**
 * Gives a new agent its own NATS user: recorded in the cluster file, then
 * nats-server reloads its configuration (SIGHUP) and the user is let in
 * before the agent starts. An agent that had one keeps it.
 */
async function addAgentNatsUser(dir: string, id: string): Promise<ClusterFile> {
  const cluster = updateCluster(dir, (c) => {
    const nats = c.security?.nats;
    if (nats && nats.agents?.[id] === undefined) nats.agents = { ...nats.agents, [id]: newAgentNatsUser(id) };
    return c;
  });
  const nats = cluster.processes.find((p) => p.role === "nats");
  const { config } = natsServerConfig(cluster);
  if (nats && config !== undefined && isAlive(nats.pid)) await reloadNats(join(cluster.dir, "data"), nats.pid, config, cluster.nats, natsAuthOf(cluster, "agent", id));
  return cluster;
}

async function startAgent(
  cluster: ClusterFile,
  a: { site: string; spot: boolean; index: number; opts: Pick<ClusterOptions, "softwareRoot" | "agentCores" | "agentMemoryMB" | "agentDiskMB" | "agentPrefetch"> },
): Promise<ClusterProcess> {
  const id = agentIdOf(a);
  const home = join(cluster.dir, "agents", id);
  mkdirSync(home, { recursive: true });
  const logDir = join(cluster.dir, "logs");
  const metrics = `127.0.0.1:${await freePort()}`;
  const args = [
    "agent", "--id", id, "--site", a.site, "--kind", a.spot ? "spot" : "hpc",
    "--cores", String(a.opts.agentCores ?? 2), "--memory", String(a.opts.agentMemoryMB ?? 2048),
    ...(a.opts.agentDiskMB !== undefined ? ["--disk", String(a.opts.agentDiskMB)] : []),
    ...(a.opts.agentPrefetch !== undefined ? ["--prefetch", String(a.opts.agentPrefetch)] : []),
    "--coordinator", cluster.coordinator, "--nats", cluster.nats,
    "--cache-dir", join(home, "cache"), "--work-dir", join(home, "work"),
    "--software-root", resolve(a.opts.softwareRoot ?? process.cwd()),
    ...(a.spot ? spotAgentArgs(cluster, id) : []),
    "--metrics", metrics,
  ];
  const svc = await startOrrery(id, args, logDir, roleEnv(cluster, "agent", a.site, id));
  return { name: id, role: "agent", site: a.site, pid: svc.pid, address: cluster.coordinator, log: join(logDir, `${id}.log`), args, metrics };
}

/** The buckets of a site's S3 endpoint: its disk, and tape at the first site (see registerRses). */
export function siteBuckets(site: string, index: number): string[] {
  return index === 0 ? [`${site}-disk`, `${site}-tape`] : [`${site}-disk`];
}

/** Environment variables that carry secrets or a role's identity: a child gets only those of its role, never the parent's. */
const SECRET_ENV = [
  "ORRERY_TOKEN", "ORRERY_CA", "ORRERY_TLS_CERT", "ORRERY_TLS_KEY", "ORRERY_OPERATOR_TOKEN", "ORRERY_AGENT_TOKEN",
  "ORRERY_NATS_USER", "ORRERY_NATS_PASSWORD", NATS_INBOX_ENV, REDIS_PASSWORD_ENV, S3_KEYS_ENV, "ORRERY_S3_ACCESS_KEY_ID", "ORRERY_S3_SECRET_ACCESS_KEY",
];

export type ClusterRole = NatsRole;
export { natsAuthOf };

/**
 * The environment of a cluster process of `role` (an agent's at `site`): where
 * its servers are, and only the secrets its role needs, never on the command
 * line (which cluster.json records and ps shows):
 * - gRPC: the coordinator its certificate and both roles' tokens; an agent the CA and the agent token;
 * - its NATS user (an agent its own, with its reply prefix); the Redis password for the coordinator and the dbb only;
 * - S3 keys of every site for the dbb and the operator, of its own site for an
 *   agent, none for the coordinator (it never touches S3).
 */
export function roleEnv(cluster: ClusterFile, role: ClusterRole, site?: string, agentId?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ORRERY_NATS: cluster.nats, ORRERY_REDIS: cluster.redis, ORRERY_COORDINATOR: cluster.coordinator };
  for (const name of SECRET_ENV) delete env[name];
  const sec = cluster.security;
  if (sec === undefined) return env;
  if (role === "coordinator") {
    const tls = coordinatorTlsFiles(cluster.dir);
    Object.assign(env, { ORRERY_TLS_CERT: tls.cert, ORRERY_TLS_KEY: tls.key, ORRERY_OPERATOR_TOKEN: sec.tokens.operator, ORRERY_AGENT_TOKEN: sec.tokens.agent });
  }
  if (role === "agent") Object.assign(env, { ORRERY_CA: sec.ca, ORRERY_TOKEN: sec.tokens.agent });
  if (sec.nats) {
    const auth = natsAuthOf(cluster, role, agentId);
    Object.assign(env, { ORRERY_NATS_USER: auth.user, ORRERY_NATS_PASSWORD: auth.password });
    if (auth.inboxPrefix !== undefined) env[NATS_INBOX_ENV] = auth.inboxPrefix;
  }
  if (sec.redisPassword !== undefined && (role === "coordinator" || role === "dbb" || role === "operator")) env[REDIS_PASSWORD_ENV] = sec.redisPassword;
  if (sec.s3) {
    const sites = role === "dbb" || role === "operator" ? cluster.sites : role === "agent" && site !== undefined ? [site] : [];
    const keys: Record<string, S3KeyPair> = {};
    for (const s of sites) {
      const key = sec.s3[s];
      const endpoint = cluster.s3[s];
      if (key && endpoint) keys[endpoint] = key;
    }
    env[S3_KEYS_ENV] = JSON.stringify(keys);
  }
  return env;
}

/** The pilot factory's environment, which its pilots inherit: an agent's of site-hpc with the pilots' NATS user, and the cluster's slurm.conf. */
export function pilotsEnv(cluster: ClusterFile): NodeJS.ProcessEnv {
  return { ...roleEnv(cluster, "agent", SLURM_SITE, PILOTS_NATS_USER), ...(cluster.slurm ? { SLURM_CONF: cluster.slurm.conf } : {}) };
}

/** Sets this process's secrets to those of `role` in the cluster (tests and tools that talk to its servers directly). */
export function useClusterSecrets(cluster: ClusterFile, role: ClusterRole = "operator"): void {
  const env = roleEnv(cluster, role);
  for (const name of SECRET_ENV) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
}

export function startOrrery(name: string, args: string[], logDir: string, env: NodeJS.ProcessEnv) {
  return startService({ name, command: process.execPath, args: [ORRERY_BIN, ...args], logFile: join(logDir, `${name}.log`), env, readiness: { kind: "ipc" }, timeoutMs: 30_000 });
}

/** Each site's disk RSE (its output RSE); the first site also has tape (custodial). */
async function registerRses(cluster: ClusterFile): Promise<void> {
  const nc = await connectNats(cluster.nats, "orrery-local-up", natsAuthOf(cluster));
  try {
    const dbb = new DbbClient(nc);
    for (const [i, site] of cluster.sites.entries()) {
      const endpoint = cluster.s3[site]!;
      await dbb.rseAdd({ name: `${site}-disk`, site, endpoint, bucket: `${site}-disk`, tier: StorageTier.DISK, output: true, attributes: { site, tier: "disk" } });
      if (i === 0) await dbb.rseAdd({ name: `${site}-tape`, site, endpoint, bucket: `${site}-tape`, tier: StorageTier.CUSTODIAL, attributes: { site, tier: "custodial" } });
    }
  } finally {
    await nc.close();
  }
}
