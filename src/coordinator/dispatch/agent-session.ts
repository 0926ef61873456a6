import type { ServerDuplexStream } from "@grpc/grpc-js";
import type { AgentMessage, CoordinatorMessage, Hello } from "../../gen/orrery/v1/agent_link_pb.js";
import type { AgentSlot } from "../workload/index.js";

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
 * a lease on the wire never over-commits the node.
 */
export class AgentSession {
  readonly id: string;
  readonly site: string;
  readonly kind: string;
  readonly cores: number;
  readonly memoryMB: number;
  cacheBytes: bigint;
  readonly connectedMs = Date.now();
  private reportedCores = 0;
  private reportedMemoryMB = 0;
  private reportedDiskMB = 0;
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
    hello: Hello,
    readonly call: ServerDuplexStream<AgentMessage, CoordinatorMessage>,
  ) {
    this.id = hello.agentId;
    this.site = hello.site;
    this.kind = hello.kind;
    this.cores = hello.cores;
    this.memoryMB = hello.memoryMb;
    this.diskMB = hello.diskMb;
    this.cacheBytes = hello.cacheBytes;
  }

  credit(freeCores: number, freeMemoryMB: number, freeDiskMB: number): void {
    this.reportedCores = freeCores;
    this.reportedMemoryMB = freeMemoryMB;
    this.reportedDiskMB = freeDiskMB;
    this.sentCores = 0;
    this.sentMemoryMB = 0;
    this.sentDiskMB = 0;
  }

  slot(): AgentSlot {
    let heldCores = 0;
    let heldMemory = 0;
    let heldDisk = 0;
    for (const h of this.held.values()) {
      heldCores += h.cores;
      heldMemory += h.memoryMB;
      heldDisk += h.diskMB;
    }
    return {
      id: this.id,
      site: this.site,
      kind: this.kind,
      freeCores: Math.min(this.reportedCores - this.sentCores, this.cores - heldCores),
      freeMemoryMB: Math.min(this.reportedMemoryMB - this.sentMemoryMB, this.memoryMB - heldMemory),
      freeDiskMB: Math.min(this.reportedDiskMB - this.sentDiskMB, this.diskMB - heldDisk),
    };
  }

  hold(leaseId: string, cores: number, memoryMB: number, diskMB: number): void {
    this.held.set(leaseId, { cores, memoryMB, diskMB, sentMs: Date.now() });
    this.sentCores += cores;
    this.sentMemoryMB += memoryMB;
    this.sentDiskMB += diskMB;
  }

  release(leaseId: string): void {
    this.held.delete(leaseId);
  }

  /** Forgets leases the agent no longer runs (per its heartbeat) that are older than `graceMs`. */
  reconcile(running: readonly string[], graceMs: number): void {
    const now = Date.now();
    const live = new Set(running);
    for (const [id, h] of this.held) if (!live.has(id) && now - h.sentMs > graceMs) this.held.delete(id);
  }

  get running(): number {
    return this.held.size;
  }

  send(msg: CoordinatorMessage): void {
    if (!this.closed) this.call.write(msg);
  }
}
