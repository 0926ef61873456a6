import { describe, expect, it } from "vitest";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { campaignStateFor, canCampaignTransition, CampaignStates, nextCampaignState, settleEvent, type CampaignEvent, type CampaignState } from "./campaign-state.js";
import { emptyCounts } from "./campaign-table.js";
import type { QuantumState } from "./quantum-state.js";

const EVENTS: CampaignEvent[] = ["pause", "resume", "cancel", "finished", "failed", "reopened", "retry"];

// The campaign lifecycle; every (state, event) pair not listed is illegal.
const LIFECYCLE: Record<CampaignState, Partial<Record<CampaignEvent, CampaignState>>> = {
  RUNNING: { pause: "PAUSED", resume: "RUNNING", cancel: "CANCELLED", finished: "SUCCEEDED", failed: "FAILED", retry: "RUNNING" },
  PAUSED: { pause: "PAUSED", resume: "RUNNING", cancel: "CANCELLED", retry: "PAUSED" },
  SUCCEEDED: { retry: "SUCCEEDED" },
  FAILED: { cancel: "CANCELLED", reopened: "RUNNING", retry: "RUNNING" },
  CANCELLED: { cancel: "CANCELLED" },
};

function refusal(state: CampaignState, event: CampaignEvent): OrreryError {
  try {
    nextCampaignState(state, event, "c1");
  } catch (err) {
    return err as OrreryError;
  }
  throw new Error(`${event} in ${state} was allowed`);
}

describe("campaign transition table", () => {
  it("allows exactly the lifecycle's transitions", () => {
    for (const state of CampaignStates) {
      for (const event of EVENTS) {
        const expected = LIFECYCLE[state][event];
        expect(canCampaignTransition(state, event), `${state} --${event}-->`).toBe(expected !== undefined);
        if (expected !== undefined) expect(nextCampaignState(state, event, "c1")).toBe(expected);
        else expect(refusal(state, event)).toBeInstanceOf(OrreryError);
      }
    }
  });

  it("refuses an operator's illegal action naming the state and the states that allow it", () => {
    const e = refusal("SUCCEEDED", "pause");
    expect(e.code).toBe(ErrorCode.ILLEGAL_TRANSITION);
    expect(e.message).toBe("campaign c1 is SUCCEEDED; only RUNNING or PAUSED campaigns can be paused");
    expect(e.hint).toContain("orrery status c1");
    expect(refusal("CANCELLED", "resume").message).toBe("campaign c1 is CANCELLED; only RUNNING or PAUSED campaigns can be resumed");
    expect(refusal("SUCCEEDED", "cancel").message).toContain("can be cancelled");
  });

  it("a cancelled or succeeded campaign never runs again", () => {
    for (const state of ["CANCELLED", "SUCCEEDED"] as const) {
      expect(canCampaignTransition(state, "resume")).toBe(false);
      expect(canCampaignTransition(state, "reopened")).toBe(false);
    }
  });

  it("settles with one event per target state", () => {
    expect(settleEvent("SUCCEEDED")).toBe("finished");
    expect(settleEvent("FAILED")).toBe("failed");
    expect(settleEvent("RUNNING")).toBe("reopened");
    expect(settleEvent("PAUSED")).toBeUndefined();
    expect(settleEvent("CANCELLED")).toBeUndefined();
  });
});

describe("campaignStateFor", () => {
  const counts = (n: Partial<Record<QuantumState, number>>) => ({ ...emptyCounts(), ...n });

  it("is RUNNING while any quantum is PENDING, READY or RUNNING", () => {
    expect(campaignStateFor(counts({ PENDING: 1, SUCCEEDED: 5 }), "RUNNING")).toBe("RUNNING");
    expect(campaignStateFor(counts({ READY: 1, FAILED: 1 }), "RUNNING")).toBe("RUNNING");
    expect(campaignStateFor(counts({ RUNNING: 1, BLOCKED: 2 }), "RUNNING")).toBe("RUNNING");
  });

  it("stays PAUSED while quanta are open, and after they all ended: it ends when resumed", () => {
    expect(campaignStateFor(counts({ READY: 3 }), "PAUSED")).toBe("PAUSED");
    expect(campaignStateFor(counts({ SUCCEEDED: 8 }), "PAUSED")).toBe("PAUSED");
    expect(campaignStateFor(counts({ SUCCEEDED: 8, CANCELLED: 1 }), "PAUSED")).toBe("PAUSED");
  });

  it("SUCCEEDED when every quantum succeeded or was skipped (or there were none)", () => {
    expect(campaignStateFor(counts({ SUCCEEDED: 8, SKIPPED: 2 }), "RUNNING")).toBe("SUCCEEDED");
    expect(campaignStateFor(counts({}), "RUNNING")).toBe("SUCCEEDED");
  });

  it("FAILED when every quantum is done and one failed, was blocked or cancelled", () => {
    expect(campaignStateFor(counts({ SUCCEEDED: 8, FAILED: 1 }), "RUNNING")).toBe("FAILED");
    expect(campaignStateFor(counts({ SUCCEEDED: 8, BLOCKED: 1 }), "RUNNING")).toBe("FAILED");
    expect(campaignStateFor(counts({ SUCCEEDED: 8, CANCELLED: 1 }), "RUNNING")).toBe("FAILED");
  });

  it("RUNNING again after `orrery retry` requeues a FAILED campaign's quanta", () => {
    expect(campaignStateFor(counts({ SUCCEEDED: 8, READY: 1, PENDING: 2 }), "FAILED")).toBe("RUNNING");
  });

  it("a CANCELLED campaign stays CANCELLED", () => {
    expect(campaignStateFor(counts({ READY: 3 }), "CANCELLED")).toBe("CANCELLED");
    expect(campaignStateFor(counts({ SUCCEEDED: 3 }), "CANCELLED")).toBe("CANCELLED");
  });
});
