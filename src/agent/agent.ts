// The node agent: pulls leases from the coordinator with credits, runs them
// within the node's cores and memory, journals every result in LMDB until the
// coordinator acknowledges it, and on stop reports what ran as `preempted`.
import { rm } from "node:fs/promises";
import { hostname } from "node:os";
import { create } from "@bufbuild/protobuf";
import { isNoopCommand } from "../common/builtin-commands.js";
import { connectNats, NATS_INBOX_ENV, type NatsConnection } from "../common/nats.js";
import { AGENT_INBOX_PREFIX } from "../common/subjects.js";
import { createLogger, type Logger } from "../common/logger.js";
import { signalReady } from "../common/ready.js";
import { QuantumResultSchema, type Lease, type QuantumResult, type Welcome } from "../gen/orrery/v1/agent_link_pb.js";
import { nodeKinds } from "../common/wire-enums.js";
import { openAgentStore, type AgentStore } from "./cache/index.js";
import { CoordinatorLink, type AgentMessageInit } from "./coordinator-link.js";
import type { ClientSecurity } from "../common/grpc-security.js";
import { bareResult, Outcome, type StopRequest } from "./lease-outcome.js";
import { runLease, type LeaseRunContext } from "./lease-runner.js";
import { deliverResult, failedRunResult, type ResultSink } from "./result-delivery.js";
import { ResourcePool } from "./resource-pool.js";
import { DbbLookup } from "./stage/index.js";
import { leaveBy, PilotLifetime, type PilotLimits } from "./pilot-lifetime.js";
import { DEFAULT_DISK_SAMPLE_MS, scratchDirOf } from "./exec/index.js";
import { DISK_FLOOR_MB, NodeDisk } from "./node-disk.js";
import { PayloadGroups } from "./payload-groups.js";
import { AgentMetrics } from "./agent-metrics.js";
import { startMetricsServer } from "../common/metrics.js";
import { HEARTBEAT_MS } from "../common/settings/defaults.js";

export type NodeKind = "hpc" | "spot" | "static";

export interface AgentOptions {
  agentId: string;
  /** host:port of the coordinator's gRPC server. */
  coordinator: string;
  natsUrl: string;
  site: string;
  kind: NodeKind;
  cores: number;
  memoryMB: number;
  diskMB: number;
  cacheDir: string;
  cacheSizeBytes: number;
  workDir: string;
  softwareRoot: string;
  /** TLS (the CA) and the agent token of a closed coordinator. */
  security?: ClientSecurity;
  /** Leases kept waiting beyond the free capacity, in multiples of the node's capacity (default 0). */
  prefetch?: number;
  /** A pilot: when its batch job's walltime ends, its job id, and how long it stays idle before it leaves. */
  pilot?: PilotLimits & { batchJob?: string };
  /** How often a running payload's scratch is measured against its diskMB (default 1 s). */
  diskSampleMs?: number;
  /** Serve /metrics and /healthz over HTTP here (host:port; `--metrics`); none: no HTTP. */
  metricsListen?: string;
}

export interface AgentHandle {
  /** Stops taking work, reports running leases as preempted (`reason` in their message) and disconnects. */
  stop(reason: string): Promise<void>;
  /** Resolves once the agent has stopped. */
  done: Promise<void>;
}

/** How long a starting agent keeps trying NATS (within `local up`'s 30 s readiness wait). */
const NATS_START_WAIT_MS = 20_000;
const ACK_WAIT_MS = 2000;
/** Cached DIDs a hello names at most, the most recently used (a gRPC message stays small). */
const CACHE_SUMMARY_MAX = 20_000;

export async function runAgent(opts: AgentOptions): Promise<AgentHandle> {
  const log = createLogger("agent", { agentId: opts.agentId, site: opts.site });
  const store = openAgentStore(opts.cacheDir, opts.cacheSizeBytes);
  let nc: NatsConnection;
  try {
    // A restarted agent waits out a short NATS outage or reload rather than exiting.
    nc = await connectNats(opts.natsUrl, `orrery-agent ${opts.agentId}`, { inboxPrefix: process.env[NATS_INBOX_ENV] || AGENT_INBOX_PREFIX }, NATS_START_WAIT_MS);
  } catch (err) {
    await store.close();
    throw err;
  }
  const agent = new Agent(opts, store, nc, log);
  await agent.recoverJournal();
  if (agent.metrics && opts.metricsListen !== undefined) {
    const http = await startMetricsServer(opts.metricsListen, agent.metrics.registry, log).catch(async (err: unknown) => {
      await Promise.allSettled([nc.close(), store.close()]);
      throw err;
    });
    log.info({ address: http.address }, "/metrics and /healthz served over HTTP");
    agent.done.then(() => http.close()).catch((err: unknown) => log.warn({ err }, "could not close the metrics server"));
  }
  agent.start();
  return { stop: (reason) => agent.stop(reason), done: agent.done };
}

class Agent {
  private readonly pool: ResourcePool;
  private readonly running = new Map<string, { controller: AbortController; finished: Promise<void> }>();
  /** Leases the journal could not record when they started, with why: their results go as agent errors. */
  private readonly unjournaled = new Map<string, string>();
  private readonly sink: ResultSink;
  private readonly link: CoordinatorLink;
  private readonly ctx: LeaseRunContext;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readySignalled = false;
  private creditQueued = false;
  private readonly groups: PayloadGroups;
  private readonly disk: NodeDisk;
  /** Set at the first stop request: no more work is taken, credits are zero. */
  private draining = false;
  /** A pilot leaving: credits are zero, but leases already on their way still run. */
  private retiring = false;
  private readonly leaveByMs: number | undefined;
  private readonly lifetime: PilotLifetime;
  /** With --metrics: what /metrics shows. */
  readonly metrics: AgentMetrics | undefined;
  private stopping: Promise<void> | undefined;
  private resolveDone!: () => void;
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    private readonly opts: AgentOptions,
    private readonly store: AgentStore,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {
    this.groups = new PayloadGroups(store.journal, log);
    this.disk = new NodeDisk(opts.workDir, log);
    this.pool = new ResourcePool({ cores: opts.cores, memoryMb: opts.memoryMB, diskMb: opts.diskMB }, opts.prefetch ?? 0);
    this.ctx = {
      agentId: opts.agentId,
      site: opts.site,
      kind: opts.kind,
      host: hostname(),
      workDir: opts.workDir,
      softwareRoot: opts.softwareRoot,
      cache: store.cache,
      dbb: new DbbLookup(nc),
      log,
      payloadGroups: this.groups,
      disk: { minFreeMb: DISK_FLOOR_MB, sampleMs: opts.diskSampleMs ?? DEFAULT_DISK_SAMPLE_MS },
    };
    this.link = new CoordinatorLink(
      opts.coordinator,
      {
        hello: () => this.hello(),
        welcome: (w) => this.onWelcome(w),
        lease: (l) => this.onLease(l),
        cancel: (c) => this.onCancel(c.leaseId, c.reason),
        resultAck: (a) => this.journaled(this.store.journal.resultAcknowledged(a.leaseId), a.leaseId),
        disconnected: () => clearInterval(this.heartbeatTimer),
      },
      log,
      opts.security,
    );
    this.sink = { journal: store.journal, send: (r) => this.sendResult(r), log };
    const dbb = this.ctx.dbb;
    const gauges = { running: () => this.running.size, freeCores: () => this.pool.free().cores, cores: opts.cores, cacheBytes: () => store.cache.stats().bytes, cacheBudgetBytes: opts.cacheSizeBytes };
    this.metrics = opts.metricsListen === undefined ? undefined : new AgentMetrics(gauges, opts.site, async () => new Map((await dbb.rseList()).map((r) => [r.name, r.site])));
    const pilot = opts.pilot ?? {};
    this.leaveByMs = pilot.walltimeEndMs !== undefined ? leaveBy(Date.now(), pilot.walltimeEndMs) : undefined;
    this.lifetime = new PilotLifetime(pilot, this.leaveByMs, {
      busy: () => this.running.size + this.pool.waitingIds().length,
      retire: (reason) => this.retire(reason),
      stop: (reason) => this.unawaited(this.stop(reason), "stop"),
    });
  }

  /**
   * What a previous run of this agent left behind, before any work is taken:
   * its payloads still running are killed (they would share the node with new
   * ones, and their attempts are over), and its leases in flight are reported
   * `lost`, their scratch removed.
   */
  async recoverJournal(): Promise<void> {
    await this.groups.killOrphans();
    for (const lease of this.store.journal.inFlight()) {
      this.log.warn({ lease: lease.leaseId, quantum: lease.quantumId }, "abandoning a lease left by a previous run");
      const message = "the agent restarted while this attempt ran; it was abandoned";
      await this.store.journal.resultReady(create(QuantumResultSchema, bareResult(lease, Outcome.LOST, message, lease.startMs)));
      await rm(scratchDirOf(this.opts.workDir, lease.leaseId), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  start(): void {
    this.link.start();
    this.lifetime.start();
  }

  /**
   * A pilot leaves cleanly: zero credit, so nothing new is leased; leases
   * already on their way still run; once nothing runs or waits, it stops.
   */
  private retire(reason: string): void {
    if (this.retiring || this.draining) return;
    this.retiring = true;
    this.log.info({ reason, running: this.running.size }, "pilot retiring: no more work taken");
    this.unawaited(this.sendCredit(), "credit");
    const since = Date.now();
    const check = setInterval(() => {
      // A second for leases decided before the zero credit arrived.
      if (Date.now() - since < 1000 || this.running.size + this.pool.waitingIds().length > 0) return;
      clearInterval(check);
      this.unawaited(this.stop(`the pilot retired: ${reason}`), "stop");
    }, 200);
  }

  private hello(): AgentMessageInit {
    const cache = this.store.cache.stats();
    const o = this.opts;
    return {
      msg: {
        case: "hello",
        value: {
          agentId: o.agentId,
          site: o.site,
          kind: nodeKinds.value(o.kind)!,
          cores: o.cores,
          memoryMb: o.memoryMB,
          diskMb: o.diskMB,
          cacheBytes: BigInt(cache.bytes),
          cacheFiles: cache.files,
          host: this.ctx.host,
          cachedDids: this.cacheSummary(),
          prefetch: this.pool.prefetch,
          leaveByMs: BigInt(Math.floor(this.leaveByMs ?? 0)),
          batchJob: o.pilot?.batchJob ?? "",
        },
      },
    };
  }

  /** The cache as hello reports it: the whole coordinator view starts again, so pending deltas are dropped. */
  private cacheSummary(): string[] {
    this.store.cache.drainChanges();
    return this.store.cache.recentDids(CACHE_SUMMARY_MAX);
  }

  private onWelcome(welcome: Welcome): void {
    if (!this.readySignalled) {
      this.readySignalled = true;
      signalReady({ agentId: this.opts.agentId });
    }
    clearInterval(this.heartbeatTimer);
    const every = welcome.heartbeatIntervalMs > 0 ? welcome.heartbeatIntervalMs : HEARTBEAT_MS;
    this.heartbeatTimer = setInterval(() => this.unawaited(this.heartbeat(), "heartbeat"), every);
    this.unawaited(this.sendCredit(), "credit");
    // Results the coordinator has not acknowledged (a broken stream, a restart) go again; it ignores duplicates.
    for (const result of this.store.journal.pendingResults()) this.unawaited(this.sendResult(result), "result");
  }

  private async heartbeat(): Promise<void> {
    // Waiting leases are held here too: their deadlines need renewing as well.
    const running = [...this.running.keys(), ...this.pool.waitingIds()];
    const { added, removed } = this.store.cache.drainChanges();
    await this.link.send({ msg: { case: "heartbeat", value: { running, cacheBytes: BigInt(this.store.cache.stats().bytes), cacheAdded: added, cacheRemoved: removed } } });
  }

  /** One credit for every lease that ended in this turn of the event loop, not one each. */
  private creditSoon(): void {
    if (this.creditQueued) return;
    this.creditQueued = true;
    setImmediate(() => {
      this.creditQueued = false;
      if (!this.draining && !this.retiring) this.unawaited(this.sendCredit(), "credit");
    });
  }

  /** A message sent without waiting: a failure is logged (what matters is journaled and goes again). */
  private unawaited(sent: Promise<unknown>, what: string): void {
    sent.catch((err: unknown) => this.log.error({ err }, `could not send a ${what}`));
  }

  private async sendCredit(): Promise<boolean> {
    const none = { cores: 0, memoryMb: 0, diskMb: 0 };
    const closed = this.draining || this.retiring;
    const free = closed ? none : this.pool.free();
    const room = closed ? none : this.pool.prefetchRoom();
    // No more disk than the node has free (less a reserve): a quantum whose diskMB does not fit is not leased here.
    const nodeFreeMb = await this.disk.offerableMb();
    free.diskMb = Math.min(free.diskMb, nodeFreeMb);
    room.diskMb = Math.min(room.diskMb, Math.max(0, nodeFreeMb - free.diskMb));
    return this.link.send({
      msg: {
        case: "credit",
        value: {
          freeCores: free.cores,
          freeMemoryMb: free.memoryMb,
          freeDiskMb: free.diskMb,
          prefetchCores: room.cores,
          prefetchMemoryMb: room.memoryMb,
          prefetchDiskMb: room.diskMb,
        },
      },
    });
  }

  private sendResult(result: QuantumResult): Promise<boolean> {
    return this.link.send({ msg: { case: "result", value: result } });
  }

  private onLease(lease: Lease): void {
    const id = lease.leaseId;
    if (this.running.has(id) || this.pool.isWaiting(id) || this.store.journal.hasPendingResult(id)) {
      this.log.debug({ lease: id }, "duplicate lease ignored");
      return;
    }
    // Thousands of noops a second would drown the log; real payloads log as they run.
    this.log[isNoopCommand(lease.command) ? "debug" : "info"]({ lease: id, quantum: lease.quantumId, task: lease.task }, "lease received");
    this.store.journal.leaseStarted({ leaseId: id, quantumId: lease.quantumId, attempt: lease.attempt, startMs: Date.now() }).catch((err: unknown) => {
      // Its result will say so: an attempt a crash could lose without a trace is the agent's failure, not a kill.
      this.log.error({ lease: id, err }, "journal write failed");
      this.unjournaled.set(id, err instanceof Error ? err.message : String(err));
    });
    if (this.draining) {
      this.journaled(this.finishUnstarted(lease, "the agent is stopping"), id);
      return;
    }
    this.pool.enqueue(lease);
    this.pump();
  }

  /** A journal write nobody waits for: a failure is logged (the journal is only behind, not wrong). */
  private journaled(write: Promise<void>, leaseId: string): void {
    write.catch((err: unknown) => this.log.error({ lease: leaseId, err }, "journal write failed"));
  }

  private pump(): void {
    for (const lease of this.pool.admit()) this.startLease(lease);
  }

  private startLease(lease: Lease): void {
    const controller = new AbortController();
    const freed = () => {
      if (!this.pool.release(lease.leaseId) || this.draining) return;
      this.creditSoon();
      this.pump();
    };
    const startMs = Date.now();
    const finished = runLease(lease, this.ctx, controller.signal)
      // A run that failed on the agent (not the payload) is an infrastructure error, reported as such.
      .catch((err: unknown) => {
        this.log.error({ lease: lease.leaseId, err }, "the lease run failed on the agent; reported as an agent error");
        return failedRunResult(lease, err, startMs);
      })
      .then(async (result) => {
        // The payload is over: its cores go to the next lease while the result is journaled.
        freed();
        const unjournaled = this.unjournaled.get(lease.leaseId);
        this.unjournaled.delete(lease.leaseId);
        if (result === undefined) await this.store.journal.leaseDropped(lease.leaseId);
        // Journaled (or reported as an agent error if it could not be), then sent; a lost send goes again from the journal.
        else {
          await deliverResult(this.sink, result, unjournaled);
          this.counted(result);
        }
      })
      .catch((err: unknown) => this.log.error({ lease: lease.leaseId, err }, "could not send a result"))
      .finally(() => {
        this.running.delete(lease.leaseId);
        freed();
      });
    this.running.set(lease.leaseId, { controller, finished });
  }

  private async finishUnstarted(lease: Lease, why: string): Promise<void> {
    const result = create(QuantumResultSchema, bareResult(lease, Outcome.PREEMPTED, `preempted: ${why}`, Date.now()));
    await deliverResult(this.sink, result);
    this.counted(result);
  }

  /** An ended attempt in the metrics (with --metrics). */
  private counted(result: QuantumResult): void {
    this.metrics?.resultEnded(result).catch((err: unknown) => this.log.warn({ err }, "could not count an attempt in the metrics"));
  }

  private onCancel(leaseId: string, reason: string): void {
    if (this.pool.dropWaiting(leaseId)) {
      this.journaled(this.store.journal.leaseDropped(leaseId), leaseId);
      this.unawaited(this.sendCredit(), "credit");
      return;
    }
    const stop: StopRequest = { kind: "cancelled", message: reason || "cancelled by the coordinator" };
    this.running.get(leaseId)?.controller.abort(stop);
  }

  stop(reason: string): Promise<void> {
    this.draining = true;
    this.stopping ??= this.shutdown(reason);
    return this.stopping;
  }

  private async shutdown(reason: string): Promise<void> {
    this.log.info({ reason, running: this.running.size }, "agent stopping");
    this.lifetime.stop();
    await this.sendCredit();
    const waiting = this.pool.takeAllWaiting();
    await Promise.all(waiting.map((l) => this.finishUnstarted(l, reason)));
    const stop: StopRequest = { kind: "preempted", message: reason };
    for (const { controller } of this.running.values()) controller.abort(stop);
    await Promise.allSettled([...this.running.values()].map((r) => r.finished));
    // Give the coordinator a moment to acknowledge; what it does not stays journaled for the next start.
    const until = Date.now() + ACK_WAIT_MS;
    while (this.link.ready && this.store.journal.pendingResults().length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
    }
    clearInterval(this.heartbeatTimer);
    await this.link.close();
    await this.nc.close().catch(() => {});
    await this.store.close();
    this.log.info("agent stopped");
    this.resolveDone();
  }
}
