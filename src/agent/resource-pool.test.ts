import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LeaseSchema, type Lease } from "../gen/orrery/v1/agent_link_pb.js";
import { ResourcePool } from "./resource-pool.js";

const lease = (id: string, cores = 1, memoryMb = 100): Lease => create(LeaseSchema, { leaseId: id, resources: { cores, memoryMb, diskMb: 10 } });

describe("ResourcePool with prefetch", () => {
  it("offers room for waiting leases beyond the free capacity, up to (1 + prefetch) × capacity", () => {
    const pool = new ResourcePool({ cores: 2, memoryMb: 1000, diskMb: 100 }, 1);
    expect(pool.free()).toEqual({ cores: 2, memoryMb: 1000, diskMb: 100 });
    expect(pool.prefetchRoom()).toEqual({ cores: 2, memoryMb: 1000, diskMb: 100 });
    for (const id of ["a", "b", "c"]) pool.enqueue(lease(id));
    // Two run, one waits: nothing free to run, room for one more waiting lease.
    expect(pool.admit().map((l) => l.leaseId)).toEqual(["a", "b"]);
    expect(pool.waitingIds()).toEqual(["c"]);
    expect(pool.free()).toEqual({ cores: 0, memoryMb: 700, diskMb: 70 });
    expect(pool.prefetchRoom()).toEqual({ cores: 1, memoryMb: 1000, diskMb: 100 });
    pool.enqueue(lease("d"));
    expect(pool.prefetchRoom().cores).toBe(0);
  });

  it("runs only what fits the real capacity; a released lease lets the next waiting one start", () => {
    const pool = new ResourcePool({ cores: 2, memoryMb: 1000, diskMb: 100 }, 2);
    for (const id of ["a", "b", "c", "d"]) pool.enqueue(lease(id));
    expect(pool.admit().map((l) => l.leaseId)).toEqual(["a", "b"]);
    expect(pool.admit()).toEqual([]);
    expect(pool.release("a")).toBe(true);
    expect(pool.release("a")).toBe(false);
    expect(pool.admit().map((l) => l.leaseId)).toEqual(["c"]);
    expect(pool.waitingIds()).toEqual(["d"]);
  });

  it("without prefetch offers no room beyond the free capacity", () => {
    const pool = new ResourcePool({ cores: 4, memoryMb: 1000, diskMb: 100 });
    expect(pool.prefetchRoom()).toEqual({ cores: 0, memoryMb: 0, diskMb: 0 });
    pool.enqueue(lease("a", 1));
    expect(pool.free().cores).toBe(3);
    expect(pool.prefetchRoom().cores).toBe(0);
  });
});
