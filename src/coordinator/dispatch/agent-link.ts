// The agent link: one bidirectional gRPC stream per agent. Agents pull: a
// credit says what they can take, and we answer with leases up to it.
import type * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { CoordinatorMessageSchema, type AgentMessage, type CoordinatorMessage, type SiteDemandRequest, type SiteDemandResponseSchema } from "../../gen/orrery/v1/agent_link_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ErrorCode, isOrreryError, OrreryError, toGrpcError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CancelledLease, SiteCapacity, WorkloadManager } from "../workload/index.js";
import { AgentMessageParser, foreignLeaseRefusal, type AgentResult, type Refusal, type RefusalReason } from "./agent-messages.js";
import { AgentSession } from "./agent-session.js";
import { leaseMessage } from "./lease-message.js";
import { parseDemandRequest } from "./demand-request.js";

export interface AgentLinkOptions {
  heartbeatIntervalMs: number;
  leaseTtlMs: number;
  /** How long a quantum waits for an agent at its data's site (default: the scheduler's). */
  localityDelayMs?: number;
  /** Leases sent, `seconds` after the request for work was taken up (metrics). */
  onLeased?: (seconds: number, leases: number) => void;
}

type SiteDemandResponseInit = MessageInitShape<typeof SiteDemandResponseSchema>;

/** Closes one stream with a status naming the refused field. */
type Refuse = (refusal: Refusal) => void;

export class AgentLink {
  readonly sessions = new Map<string, AgentSession>();
  /** Messages refused since the coordinator started, by reason; each closed its stream. */
  readonly refusals = new Map<RefusalReason, number>();
  private readonly parser = new AgentMessageParser();

  constructor(
    private readonly manager: WorkloadManager,
    private readonly log: Logger,
    private readonly opts: AgentLinkOptions,
  ) {}

  /** grpc-js handler of AgentLinkService.Connect. */
  connect = (call: grpc.ServerDuplexStream<AgentMessage, CoordinatorMessage>): void => {
    let session: AgentSession | undefined;
    let refused = false;
    const refuse: Refuse = (refusal) => {
      if (refused) return;
      refused = true;
      const count = (this.refusals.get(refusal.reason) ?? 0) + 1;
      this.refusals.set(refusal.reason, count);
      this.log.warn({ err: refusal.error, agent: session?.id, peer: call.getPeer(), reason: refusal.reason, count }, "agent message refused; its stream is closed");
      // grpc-js ends the call with this status (code, details, our error code in the trailers).
      call.emit("error", toGrpcError(refusal.error));
    };
    call.on("data", (msg: AgentMessage) => {
      // Messages already read after a refusal are dropped: the stream is closing.
      if (refused) return;
      const parsed = this.parser.parse(msg, session !== undefined);
      if (!parsed.ok) {
        refuse(parsed.refusal);
        return;
      }
      const m = parsed.message;
      if (m.case === "hello") {
        const previous = this.sessions.get(m.value.agentId);
        if (previous && previous.call !== call) {
          previous.closed = true;
          previous.call.end();
        }
        session = new AgentSession(m.value, call);
        this.sessions.set(session.id, session);
        this.track(this.manager.agentCache(session.id, { all: m.value.cachedDids, added: [], removed: [] }));
        this.log.info({ agent: session.id, site: session.site, kind: session.kind, cores: session.cores }, "agent connected");
        session.send(create(CoordinatorMessageSchema, { msg: { case: "welcome", value: { heartbeatIntervalMs: this.opts.heartbeatIntervalMs, leaseTtlMs: this.opts.leaseTtlMs } } }));
        return;
      }
      const s = session!;
      switch (m.case) {
        case "credit":
          s.credit(m.value.free, m.value.prefetch);
          this.scheduleSoon(s);
          break;
        case "heartbeat": {
          const hb = m.value;
          s.cacheBytes = hb.cacheBytes;
          if (hb.cacheAdded.length + hb.cacheRemoved.length > 0) this.track(this.manager.agentCache(s.id, { added: hb.cacheAdded, removed: hb.cacheRemoved }));
          s.reconcile(hb.running, this.opts.heartbeatIntervalMs * 2);
          this.manager.renew(s.id, hb.running).then(
            ({ stale, foreign }) => {
              if (foreign.length > 0) refuse(foreignLeaseRefusal("heartbeat", "running", foreign));
              else this.stopLeases(s, stale, "the lease is no longer current");
            },
            (err: unknown) => this.log.error({ err, agent: s.id }, "could not renew leases"),
          );
          break;
        }
        case "result":
          this.onResult(s, m.value, refuse);
          break;
      }
    });
    const gone = () => {
      if (session && this.sessions.get(session.id) === session) {
        session.closed = true;
        this.sessions.delete(session.id);
        this.track(this.manager.agentGone(session.id));
        this.log.info({ agent: session.id }, "agent disconnected; its leases run until their deadline");
      }
    };
    call.on("end", () => {
      gone();
      call.end();
    });
    call.on("error", gone);
    call.on("cancelled", gone);
  };

  private track(work: Promise<void>): void {
    work.catch((err: unknown) => this.log.error({ err }, "could not update the locality index"));
  }

  /** Sites with a connected agent. */
  private activeSites(): Set<string> {
    return new Set([...this.sessions.values()].filter((s) => !s.closed).map((s) => s.site));
  }

  /** The connected agents of each site: cores, what may still be leased there, the largest agent (for the pre-stager). */
  siteCapacity(): SiteCapacity[] {
    const bySite = new Map<string, SiteCapacity>();
    for (const s of this.sessions.values()) {
      if (s.closed) continue;
      let c = bySite.get(s.site);
      if (!c) bySite.set(s.site, (c = { site: s.site, agents: 0, cores: 0, freeCores: 0, maxCores: 0, maxMemoryMB: 0, nonSpot: false }));
      c.agents++;
      c.cores += s.cores;
      // As schedule() sees it: a slot without memory takes nothing.
      const slot = s.slot();
      if (slot.freeMemoryMB > 0) c.freeCores += Math.max(0, slot.freeCores);
      c.maxCores = Math.max(c.maxCores, s.cores);
      c.maxMemoryMB = Math.max(c.maxMemoryMB, s.memoryMB);
      if (s.kind !== "spot") c.nonSpot = true;
    }
    return [...bySite.values()];
  }

  /**
   * AgentLinkService.SiteDemand: the ready work a pilot of the asked shape
   * could run at the site, and what the site's connected agents have idle
   * (they take ready work before any new pilot would).
   */
  siteDemand = async (req: SiteDemandRequest): Promise<SiteDemandResponseInit> => {
    const pilot = parseDemandRequest(req);
    const demand = await this.manager.siteDemand(pilot);
    const here = this.siteCapacity().find((c) => c.site === pilot.site);
    return { readyQuanta: demand.readyQuanta, readyCores: demand.readyCores, agents: here?.agents ?? 0, idleCores: here?.freeCores ?? 0 };
  };

  /** Memory of the largest connected agent; undefined when none is connected. */
  largestMemoryMB(): number | undefined {
    let most: number | undefined;
    for (const s of this.sessions.values()) most = Math.max(most ?? 0, s.memoryMB);
    return most;
  }

  /** Offer ready work to every agent with free capacity (new work, a tick, a backoff ending). */
  offerWork(): void {
    for (const s of this.sessions.values()) this.schedule(s);
  }

  /**
   * Tells the agents holding these leases to stop them (their quanta were
   * cancelled) and frees what the leases held, so the agents get new work.
   */
  cancelLeases(leases: readonly CancelledLease[], reason: string): void {
    const byAgent = new Map<string, string[]>();
    for (const l of leases) (byAgent.get(l.agent) ?? byAgent.set(l.agent, []).get(l.agent)!).push(l.leaseId);
    for (const [agent, ids] of byAgent) {
      const s = this.sessions.get(agent);
      // A disconnected agent is told when it heartbeats again (renew returns the lease as stale).
      if (s) this.stopLeases(s, ids, reason);
    }
  }

  private stopLeases(s: AgentSession, leaseIds: readonly string[], reason: string): void {
    if (leaseIds.length === 0) return;
    for (const leaseId of leaseIds) {
      s.send(create(CoordinatorMessageSchema, { msg: { case: "cancel", value: { leaseId, reason } } }));
      s.release(leaseId);
    }
    this.log.info({ agent: s.id, leases: leaseIds }, "leases cancelled");
    this.schedule(s);
  }

  private onResult(s: AgentSession, r: AgentResult, refuse: Refuse): void {
    // The lease is over on the node: its resources are free there now, whatever Redis takes to store the result.
    // A lease decided meanwhile is persisted after this result (the manager's turns run in order).
    s.release(r.leaseId);
    this.scheduleSoon(s);
    this.manager.report(s.id, r).then(
      () => {
        s.send(create(CoordinatorMessageSchema, { msg: { case: "resultAck", value: { leaseId: r.leaseId } } }));
      },
      (err: unknown) => {
        if (isOrreryError(err, ErrorCode.PERMISSION_DENIED)) refuse({ reason: "foreign_lease", error: err });
        else this.log.error({ err, agent: s.id, lease: r.leaseId }, "could not record a result; the agent will send it again");
      },
    );
  }

  /**
   * Schedules once the messages read in this turn of the event loop are all
   * in (credits, acknowledged results): one larger lease batch, not many of one.
   */
  private scheduleSoon(s: AgentSession): void {
    if (s.scheduleQueued) return;
    s.scheduleQueued = true;
    setImmediate(() => {
      s.scheduleQueued = false;
      this.schedule(s);
    });
  }

  private schedule(s: AgentSession): void {
    if (s.scheduling || s.closed) return;
    const slot = s.slot();
    if (slot.freeCores <= 0 || slot.freeMemoryMB <= 0) return;
    s.scheduling = true;
    const askedMs = performance.now();
    this.manager
      .lease(slot, { activeSites: this.activeSites(), ...(this.opts.localityDelayMs !== undefined ? { localityDelayMs: this.opts.localityDelayMs } : {}) })
      .then((grants) => {
        for (const g of grants) {
          const lease = leaseMessage(g);
          s.hold(lease.leaseId, lease.resources?.cores ?? 1, lease.resources?.memoryMb ?? 0, lease.resources?.diskMb ?? 0);
          s.send(create(CoordinatorMessageSchema, { msg: { case: "lease", value: lease } }));
        }
        if (grants.length > 0) this.opts.onLeased?.((performance.now() - askedMs) / 1000, grants.length);
        s.scheduling = false;
        // Capacity may remain (the pick was capped); ask again only if something was handed out.
        if (grants.length > 0) this.schedule(s);
      })
      .catch((err: unknown) => {
        s.scheduling = false;
        // An outage of the store: nothing was leased, the next tick offers the work again.
        if (OrreryError.from(err).code === ErrorCode.UNAVAILABLE) this.log.warn({ err: OrreryError.from(err).message, agent: s.id }, "no leases while the store is unavailable");
        else this.log.error({ err, agent: s.id }, "scheduling failed");
      });
  }
}
