import * as grpc from "@grpc/grpc-js";
import { AgentLinkService } from "../gen/orrery/v1/agent_link_pb.js";
import { CampaignService } from "../gen/orrery/v1/coordinator_pb.js";
import { grpcServiceDefinition, unaryHandlers } from "../common/grpc-service.js";
import { connectNats } from "../common/nats.js";
import { DbbClient } from "../common/dbb-client.js";
import { ErrorCode, OrreryError, isOrreryError } from "../common/errors.js";
import { createLogger, type Logger } from "../common/logger.js";
import { CoordinatorStore } from "./store/index.js";
import { DEFAULT_PRESTAGE, Prestager, WorkloadManager, type PrestagerOptions, type ReplicaEvent, type WorkloadObserver } from "./workload/index.js";
import { AgentLink } from "./dispatch/index.js";
import { campaignApi } from "./api/index.js";
import { closeCampaignParser } from "./campaign/index.js";
import { Subjects } from "../common/subjects.js";
import { authInterceptor, type RoleTokens } from "./call-auth.js";
import { readFileSync } from "node:fs";
import { startCoordinatorHttp, type HealthReport } from "./http/index.js";
import type { HttpServerHandle } from "../common/http-server.js";
import type { NatsConnection } from "../common/nats.js";
import { CoordinatorMetrics } from "./metrics/index.js";
import { Throughput, attemptFigure, dashboardRoutes, dbbRulePage, type Dashboard, type DashboardEvent } from "./web/index.js";
import { EventFeed, followEventsHandler, natsEventSink } from "./events/index.js";
import { HEARTBEAT_MS } from "../common/settings/defaults.js";

/** A replica event of the DBB, or undefined for anything else (messages are untrusted). */
function parseReplicaEvent(text: string): ReplicaEvent | undefined {
  try {
    const v = JSON.parse(text) as Partial<ReplicaEvent>;
    if (typeof v.did === "string" && typeof v.rse === "string" && typeof v.state === "string" && v.did.length < 2048 && v.rse.length < 256) return { did: v.did, rse: v.rse, state: v.state };
  } catch {
    // Not JSON: ignored.
  }
  return undefined;
}

export interface CoordinatorOptions {
  listen: string; // host:port; port 0 picks one
  redisUrl: string;
  natsUrl: string;
  heartbeatIntervalMs?: number;
  leaseTtlMs?: number;
  /** How long a quantum waits for an agent at its data's site before it runs anywhere. */
  localityDelayMs?: number;
  /** Copies of waiting quanta's inputs to sites with idle agents (on unless false); its settings over the defaults. */
  prestage?: false | Partial<PrestagerOptions>;
  /** Serve TLS with this certificate and key (PEM files); none: plaintext. */
  tls?: { certFile: string; keyFile: string };
  /** Bearer tokens accepted per role, checked on every call; none (no role given): every call is let in. */
  tokens?: RoleTokens;
  /** Serve /healthz, /metrics and the dashboard over HTTP here (host:port); none: no HTTP. */
  http?: string;
}

function serverCredentials(tls: CoordinatorOptions["tls"]): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `cannot read the TLS ${what} ${file}: ${(err as Error).message}`, { cause: err, hint: "fix --tls-cert/--tls-key ($ORRERY_TLS_CERT/$ORRERY_TLS_KEY)" });
    }
  };
  return grpc.ServerCredentials.createSsl(null, [{ cert_chain: read(tls.certFile, "certificate"), private_key: read(tls.keyFile, "key") }], false);
}

export interface CoordinatorHandle {
  address: string;
  /** host:port of the HTTP side, when it has one. */
  httpAddress: string | undefined;
  close(): Promise<void>;
}

export async function runCoordinator(opts: CoordinatorOptions): Promise<CoordinatorHandle> {
  const log = createLogger("coordinator");
  const credentials = serverCredentials(opts.tls);
  const authenticated = opts.tokens !== undefined && Object.values(opts.tokens).some((t) => t);
  const heartbeatIntervalMs = opts.heartbeatIntervalMs ?? HEARTBEAT_MS;
  const leaseTtlMs = opts.leaseTtlMs ?? 15_000;
  const store = new CoordinatorStore(opts.redisUrl);
  try {
    await store.connect();
  } catch (err) {
    await store.close();
    if (isOrreryError(err)) throw err;
    throw new OrreryError(ErrorCode.UNAVAILABLE, `cannot reach Redis at ${opts.redisUrl}`, { cause: err, hint: "start redis-server or fix --redis" });
  }
  const nc = await connectNats(opts.natsUrl, "orrery-coordinator");
  let link: AgentLink | undefined;
  const metrics = new CoordinatorMetrics();
  // The dashboard's per-minute plots count what the metrics count: attempts once stored.
  const throughput = new Throughput();
  const observer: WorkloadObserver = {
    attach: (table) => metrics.attach(table),
    attemptEnded: (a) => {
      metrics.attemptEnded(a);
      throughput.record(attemptFigure(a));
    },
  };
  const manager = new WorkloadManager(store, log, leaseTtlMs, () => setImmediate(() => link?.offerWork()), new DbbClient(nc, 120_000), () => link?.largestMemoryMB(), observer, natsEventSink(nc, log));
  await manager.load();
  link = new AgentLink(manager, log, { heartbeatIntervalMs, leaseTtlMs, onLeased: (s, n) => metrics.leased(s, n), ...(opts.localityDelayMs !== undefined ? { localityDelayMs: opts.localityDelayMs } : {}) });
  const sessions = link.sessions;
  metrics.watchAgents(() => [...sessions.values()].filter((s) => !s.closed));
  // Replicas that appear or go (transfers, new outputs, bad copies) move quanta to where their data is.
  const replicaEvents = nc.subscribe(Subjects.replicaEvents, {
    callback: (err, msg) => {
      if (err) return;
      const event = parseReplicaEvent(msg.string());
      if (event) manager.replicaEvents([event]).catch((e: unknown) => log.warn({ err: e }, "could not apply a replica event"));
    },
  });

  const server = new grpc.Server({
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    ...(authenticated ? { interceptors: [authInterceptor(opts.tokens ?? {}, createLogger("auth"))] } : {}),
  });
  // Stored changes as they are published (orrery.events.>), for `orrery events` and the dashboard.
  const feed = new EventFeed(nc).start();
  server.addService(grpcServiceDefinition(CampaignService), { ...unaryHandlers(CampaignService, campaignApi({ manager, store, nc, link })), followEvents: followEventsHandler(feed, log) });
  server.addService(grpcServiceDefinition(AgentLinkService), { connect: link.connect, ...unaryHandlers(AgentLinkService, { siteDemand: link.siteDemand }) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.listen, credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  const host = opts.listen.slice(0, opts.listen.lastIndexOf(":"));
  const address = `${host}:${port}`;

  // Transient rules that bring waiting quanta's inputs to sites whose agents would sit idle.
  const prestager = opts.prestage === false ? undefined : new Prestager(manager, () => link.siteCapacity(), new DbbClient(nc, 10_000), createLogger("prestager"), { ...DEFAULT_PRESTAGE, ...opts.prestage });
  prestager?.start();

  // Expire lost leases and offer work whose backoff has ended.
  // One tick at a time: ticks must not pile up in the manager's mailbox while a slow one runs.
  let ticking = false;
  const ticker = setInterval(() => {
    if (ticking) return;
    ticking = true;
    manager
      .expire()
      .then(
        () => link.offerWork(),
        (err: unknown) => log.error({ err }, "lease expiry failed"),
      )
      .finally(() => (ticking = false));
  }, 1000);
  let http: HttpServerHandle | undefined;
  let dashboard: Dashboard | undefined;
  if (opts.http !== undefined) {
    const agents = () => [...link.sessions.values()].filter((s) => !s.closed);
    dashboard = dashboardRoutes({
      campaigns: () => manager.status(undefined, agents()),
      agents: () => agents().map((s) => ({ id: s.id, site: s.site, kind: s.kind, cores: s.cores, freeCores: s.idleCores(), running: s.running, cacheBytes: s.cacheBytes, memoryMB: s.memoryMB, batchJob: s.batchJob })),
      throughput,
      follow: (campaign, cb) => feed.follow(campaign, (event) => cb(event as unknown as DashboardEvent)),
      rules: dbbRulePage(nc),
      // Open tickets first, then the latest closed; at most 50 on the page.
      tickets: async () => (await manager.tickets.list({})).sort((a, b) => Number(a.state !== "open") - Number(b.state !== "open") || b.openedMs - a.openedMs).slice(0, 50),
    });
    http = await startCoordinatorHttp({ listen: opts.http, operatorToken: opts.tokens?.operator, closed: authenticated, health: () => health(store, nc, log), open: dashboard.open, operator: { exact: { ...dashboard.operator.exact, "/metrics": metrics.handler }, prefix: dashboard.operator.prefix ?? {} } }, createLogger("http"));
    log.info({ address: http.address }, "dashboard, /metrics and /healthz served over HTTP");
  }
  log.info({ address, tls: opts.tls !== undefined, tokens: authenticated }, "coordinator listening");
  if (authenticated && opts.tls === undefined) log.warn({ address }, "bearer tokens are checked but gRPC is not TLS: tokens cross the network in clear (give --tls-cert/--tls-key)");
  if (!authenticated) log.warn({ address }, "no bearer tokens configured: every call is let in ($ORRERY_OPERATOR_TOKEN, $ORRERY_AGENT_TOKEN)");

  return {
    address,
    httpAddress: http?.address,
    async close() {
      clearInterval(ticker);
      dashboard?.close();
      await http?.close();
      await prestager?.stop();
      replicaEvents.unsubscribe();
      // Follow streams end first: shutdown waits for open calls.
      feed.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      server.forceShutdown();
      await nc.close();
      await store.close();
      await closeCampaignParser();
    },
  };
}

/** Whether Redis answers within 2 s and NATS is connected (the answer is open to anyone: the details go to the log). */
async function health(store: CoordinatorStore, nc: NatsConnection, log: Logger): Promise<HealthReport> {
  const redis = await Promise.race([
    store.ping().then(
      () => "ok",
      (err: unknown) => {
        log.warn({ err }, "health check: Redis did not answer");
        return "unreachable";
      },
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve("no answer within 2 s"), 2000).unref()),
  ]);
  const nats = nc.isClosed() ? "closed" : "ok";
  return { ok: redis === "ok" && nats === "ok", checks: { redis, nats } };
}
