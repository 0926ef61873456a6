// The node's cores, memory and disk, and what the leases it runs hold. Leases
// that do not fit yet wait in arrival order: prefetched ones (up to `prefetch`
// times the node's capacity, so a freed core never waits for a lease round
// trip), and those of a credit that crossed a finishing lease on the wire.
// Waiting leases hold nothing on the node: only admitted ones run.
import type { Lease } from "../gen/orrery/v1/agent_link_pb.js";

export interface Capacity {
  cores: number;
  memoryMb: number;
  diskMb: number;
}

/** What a lease holds while it runs; a lease asking for nothing still takes a core. */
export function demandOf(lease: Lease): Capacity {
  const r = lease.resources;
  return { cores: Math.max(1, r?.cores ?? 1), memoryMb: r?.memoryMb ?? 0, diskMb: r?.diskMb ?? 0 };
}

export class ResourcePool {
  private readonly held = new Map<string, Capacity>();
  private readonly waiting: Lease[] = [];

  constructor(
    readonly capacity: Capacity,
    /** Waiting leases the agent takes beyond its free capacity, in multiples of that capacity. */
    readonly prefetch = 0,
  ) {}

  /** Free capacity with waiting leases counted as held: what the agent may still be offered to run now. */
  free(): Capacity {
    const used = this.used();
    return {
      cores: Math.max(0, this.capacity.cores - used.cores),
      memoryMb: Math.max(0, this.capacity.memoryMb - used.memoryMb),
      diskMb: Math.max(0, this.capacity.diskMb - used.diskMb),
    };
  }

  /** Room for prefetched leases beyond `free()`: up to (1 + prefetch) × capacity held and waiting in all. */
  prefetchRoom(): Capacity {
    const used = this.used();
    const room = (capacity: number, inUse: number) => Math.max(0, capacity * (1 + this.prefetch) - inUse) - Math.max(0, capacity - inUse);
    return {
      cores: room(this.capacity.cores, used.cores),
      memoryMb: room(this.capacity.memoryMb, used.memoryMb),
      diskMb: room(this.capacity.diskMb, used.diskMb),
    };
  }

  private used(): Capacity {
    const used = { cores: 0, memoryMb: 0, diskMb: 0 };
    for (const d of [...this.held.values(), ...this.waiting.map(demandOf)]) {
      used.cores += d.cores;
      used.memoryMb += d.memoryMb;
      used.diskMb += d.diskMb;
    }
    return used;
  }

  enqueue(lease: Lease): void {
    this.waiting.push(lease);
  }

  /** Removes a waiting lease; true if it was waiting. */
  dropWaiting(leaseId: string): boolean {
    const i = this.waiting.findIndex((l) => l.leaseId === leaseId);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  takeAllWaiting(): Lease[] {
    return this.waiting.splice(0);
  }

  /**
   * Waiting leases that fit now, in order, each marked as holding its demand.
   * A lease bigger than the whole node runs alone rather than never.
   */
  admit(): Lease[] {
    const admitted: Lease[] = [];
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      const d = demandOf(next);
      const heldNow = this.heldTotal();
      const fits =
        heldNow.cores + d.cores <= this.capacity.cores &&
        heldNow.memoryMb + d.memoryMb <= this.capacity.memoryMb &&
        heldNow.diskMb + d.diskMb <= this.capacity.diskMb;
      if (!fits && this.held.size > 0) break;
      this.waiting.shift();
      this.held.set(next.leaseId, d);
      admitted.push(next);
    }
    return admitted;
  }

  /** Frees what an admitted lease held; false when it held nothing (already released). */
  release(leaseId: string): boolean {
    return this.held.delete(leaseId);
  }

  waitingIds(): string[] {
    return this.waiting.map((l) => l.leaseId);
  }

  isWaiting(leaseId: string): boolean {
    return this.waiting.some((l) => l.leaseId === leaseId);
  }

  private heldTotal(): Capacity {
    const t = { cores: 0, memoryMb: 0, diskMb: 0 };
    for (const d of this.held.values()) {
      t.cores += d.cores;
      t.memoryMb += d.memoryMb;
      t.diskMb += d.diskMb;
    }
    return t;
  }
}
