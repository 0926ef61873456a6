import { describe, expect, it } from "vitest";
import { decide, type FactoryView } from "./decide.js";

const view = (v: Partial<FactoryView>): FactoryView => ({ readyQuanta: 0, readyCores: 0, agents: 0, idleCores: 0, pending: [], running: 0, ...v });
const limits = { maxPilots: 4, cores: 2 };

describe("pilot factory decisions", () => {
  it("keeps none queued without work, and cancels what is queued, newest first", () => {
    expect(decide(view({}), limits)).toEqual({ submit: 0, cancel: [], wantPending: 0 });
    expect(decide(view({ pending: ["11", "12"] }), limits)).toEqual({ submit: 0, cancel: ["12", "11"], wantPending: 0 });
    // Cores without quanta (a stale count) are no work either.
    expect(decide(view({ readyCores: 3, pending: ["11"] }), limits).cancel).toEqual(["11"]);
  });

  it("queues enough pilots for the ready cores, up to the maximum", () => {
    expect(decide(view({ readyQuanta: 3, readyCores: 3 }), limits)).toMatchObject({ submit: 2 });
    expect(decide(view({ readyQuanta: 40, readyCores: 40 }), limits)).toMatchObject({ submit: 4 });
    expect(decide(view({ readyQuanta: 40, readyCores: 40, running: 3, agents: 3 }), limits)).toMatchObject({ submit: 1 });
    expect(decide(view({ readyQuanta: 40, readyCores: 40, running: 4, agents: 4 }), limits)).toMatchObject({ submit: 0 });
  });

  it("counts what connected agents have idle and what starting pilots bring", () => {
    // 6 cores ready, 2 idle on a connected pilot, 1 pilot starting (2 cores): 2 uncovered → 1 more.
    expect(decide(view({ readyQuanta: 6, readyCores: 6, agents: 1, idleCores: 2, running: 2 }), limits)).toMatchObject({ submit: 1, wantPending: 1 });
    expect(decide(view({ readyQuanta: 2, readyCores: 2, agents: 1, idleCores: 2, running: 1 }), limits)).toMatchObject({ submit: 0, wantPending: 0 });
  });

  it("cancels queued pilots beyond what the work needs, keeping the oldest", () => {
    expect(decide(view({ readyQuanta: 2, readyCores: 2, pending: ["11", "12", "13"] }), limits)).toEqual({ submit: 0, cancel: ["13", "12"], wantPending: 1 });
    expect(decide(view({ readyQuanta: 8, readyCores: 8, pending: ["11", "12"] }), limits)).toEqual({ submit: 2, cancel: [], wantPending: 4 });
  });
});
