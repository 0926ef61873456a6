import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { AgentMessage, CoordinatorMessage } from "../../gen/orrery/v1/agent_link_pb.js";
import type { AgentSlot } from "../workload/index.js";
import type { AgentHello, AgentKind } from "./agent-messages.js";

interface Held {
  cores: number;
  memoryMB: number;
  diskMB: number;
  sentMs: number;
}

/**
 * One connected agent: its advertised resources, the credit it last sent, and
 * the leases sent to it that have not come back. Free capacity is the smaller
 * of what the agent says and what our own books say, so a credit that crossed
 * a lease on the wire never over-commits the node. An agent with prefetch P
 * holds up to (1 + P) × its resources: what it runs, and leases waiting for a
 * core to free (they hold nothing on the node until they start).
 */
export class AgentSession {
  readonly id: string;
  readonly site: string;
  readonly kind: AgentKind;
  readonly cores: number;
  readonly memoryMB: number;
  /** Leases waiting at the agent beyond what it runs, in multiples of its resources. */
  readonly prefetch: number;
  /** A pilot's end: no quantum may outlast it. */
  readonly leaveByMs: number | undefined;
  readonly batchJob: string;
  cacheBytes: number;
  readonly connectedMs = Date.now();
  private reportedCores = 0;
  private reportedMemoryMB = 0;
  private reportedDiskMB = 0;
  /** The credit's free cores without its prefetch room: cores idle now. */
  private reportedIdleCores = 0;
  private sentCores = 0;
  private sentMemoryMB = 0;
  private sentDiskMB = 0;
  readonly diskMB: number;
  private readonly held = new Map<string, Held>();
  scheduling = false;
  /** A schedule is queued for the end of this event-loop turn (AgentLink.scheduleSoon). */
  scheduleQueued = false;
  closed = false;

  constructor(
    hello: AgentHello,
    readonly call: ServerDuplexStream<AgentMessage, CoordinatorMessage>,
  ) {
    this.id = hello.agentId;
    this.site = hello.site;
    this.kind = hello.kind;
    this.cores = hello.cores;
    this.memoryMB = hello.memoryMB;
    this.diskMB = hello.diskMB;
    this.prefetch = hello.prefetch;
    this.leaveByMs = hello.leaveByMs;
    this.batchJob = hello.batchJob;
    this.cacheBytes = hello.cacheBytes;
  }

  /** A credit: what is free on the node, and the room for prefetched leases beyond it. */
  credit(free: { cores: number; memoryMB: number; diskMB: number }, prefetch = { cores: 0, memoryMB: 0, diskMB: 0 }): void {
    this.reportedIdleCores = free.cores;
    this.reportedCores = free.cores + prefetch.cores;
    this.reportedMemoryMB = free.memoryMB + prefetch.memoryMB;
    this.reportedDiskMB = free.diskMB + prefetch.diskMB;
    this.sentCores = 0;
    this.sentMemoryMB = 0;
    this.sentDiskMB = 0;
  }

  /** What may still be leased to the agent: free resources plus its prefetch room. */
  slot(): AgentSlot {
    const held = this.heldTotal();
    const bound = 1 + this.prefetch;
    return {
      id: this.id,
      site: this.site,
      kind: this.kind,
      freeCores: Math.min(this.reportedCores - this.sentCores, this.cores * bound - held.cores),
      freeMemoryMB: Math.min(this.reportedMemoryMB - this.sentMemoryMB, this.memoryMB * bound - held.memoryMB),
      freeDiskMB: Math.min(this.reportedDiskMB - this.sentDiskMB, this.diskMB * bound - held.diskMB),
      ...(this.leaveByMs !== undefined ? { leaveByMs: this.leaveByMs } : {}),
    };
  }

  /** Cores idle on the node as far as we know (prefetch room not counted): for listings. */
  idleCores(): number {
    return Math.max(0, Math.min(this.reportedIdleCores - this.sentCores, this.cores - this.heldTotal().cores));
  }

  private heldTotal(): { cores: number; memoryMB: number; diskMB: number } {
    const t = { cores: 0, memoryMB: 0, diskMB: 0 };
    for (const h of this.held.values()) {
      t.cores += h.cores;
      t.memoryMB += h.memoryMB;
      t.diskMB += h.diskMB;
    }
    return t;
  }

  hold(leaseId: string, cores: number, memoryMB: number, diskMB: number): void {
    this.held.set(leaseId, { cores, memoryMB, diskMB, sentMs: Date.now() });
    this.sentCores += cores;
    this.sentMemoryMB += memoryMB;
    this.sentDiskMB += diskMB;
  }

  /** The lease came back (a result, a cancel): what it held is free in our books. */
  release(leaseId: string): void {
    this.held.delete(leaseId);
  }

  /** Forgets leases the agent no longer runs (per its heartbeat) that are older than `graceMs`. */
  reconcile(running: readonly string[], graceMs: number): void {
    const now = Date.now();
    const live = new Set(running);
    for (const [id, h] of this.held) if (!live.has(id) && now - h.sentMs > graceMs) this.held.delete(id);
  }

  /** Leases the agent holds: running, or waiting for a core (prefetched). */
  get running(): number {
    return this.held.size;
  }

  send(msg: CoordinatorMessage): void {
    if (!this.closed) this.call.write(msg);
  }
}
