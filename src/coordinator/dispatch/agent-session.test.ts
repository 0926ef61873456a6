import { describe, expect, it } from "vitest";
import { AgentSession } from "./agent-session.js";

type Call = ConstructorParameters<typeof AgentSession>[1];
const call = { write: () => true } as unknown as Call;
const session = (prefetch: number) =>
  new AgentSession({ agentId: "a-1", site: "site-a", kind: "hpc", cores: 4, memoryMB: 4000, diskMB: 1000, cacheBytes: 0, cacheFiles: 0, host: "n1", cachedDids: [], prefetch, leaveByMs: undefined, batchJob: "" }, call);
const none = { cores: 0, memoryMB: 0, diskMB: 0 };

describe("AgentSession books", () => {
  it("without prefetch holds at most the agent's cores, whatever its credit says", () => {
    const s = session(0);
    s.credit({ cores: 4, memoryMB: 4000, diskMB: 1000 });
    for (let i = 0; i < 4; i++) s.hold(`l-${i}`, 1, 100, 10);
    expect(s.slot().freeCores).toBe(0);
    // A credit that crossed the leases on the wire does not over-commit the node.
    s.credit({ cores: 4, memoryMB: 4000, diskMB: 1000 });
    expect(s.slot().freeCores).toBe(0);
    s.release("l-0");
    expect(s.slot().freeCores).toBe(1);
  });

  it("with prefetch P allows up to (1 + P) × cores held, waiting leases included", () => {
    const s = session(1);
    s.credit({ cores: 4, memoryMB: 4000, diskMB: 1000 }, { cores: 4, memoryMB: 4000, diskMB: 1000 });
    expect(s.slot()).toMatchObject({ freeCores: 8, freeMemoryMB: 8000, freeDiskMB: 2000 });
    for (let i = 0; i < 6; i++) s.hold(`l-${i}`, 1, 100, 10);
    expect(s.slot().freeCores).toBe(2);
    for (let i = 6; i < 8; i++) s.hold(`l-${i}`, 1, 100, 10);
    expect(s.slot().freeCores).toBe(0);
    expect(s.running).toBe(8);
    // The same credit again (crossed on the wire): our books still bound it.
    s.credit({ cores: 0, memoryMB: 3200, diskMB: 920 }, { cores: 4, memoryMB: 4000, diskMB: 1000 });
    expect(s.slot().freeCores).toBe(0);
    // Idle cores for listings never count the prefetch room.
    expect(s.idleCores()).toBe(0);
  });

  it("the credit bounds what is offered: an agent with no room left gets nothing", () => {
    const s = session(2);
    s.credit({ cores: 1, memoryMB: 4000, diskMB: 1000 }, none);
    expect(s.slot().freeCores).toBe(1);
    s.hold("l-1", 1, 100, 10);
    expect(s.slot().freeCores).toBe(0);
    expect(s.idleCores()).toBe(0);
  });
});
