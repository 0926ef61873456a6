import { describe, expect, it } from "vitest";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { campaignStateFor, canTransition, nextState, outcomeClass, QuantumStates, TERMINAL, type QuantumEvent, type QuantumState } from "./quantum-state.js";
import { emptyCounts } from "./campaign-table.js";

const EVENTS: QuantumEvent[] = ["inputs_ready", "leased", "succeeded", "retry", "failed", "upstream_failed", "cancel", "skip", "requeue"];

// DESIGN.md's quantum lifecycle; every (state, event) pair not listed is illegal.
const LIFECYCLE: Record<QuantumState, Partial<Record<QuantumEvent, QuantumState>>> = {
  PENDING: { inputs_ready: "READY", upstream_failed: "BLOCKED", cancel: "CANCELLED", skip: "SKIPPED" },
  READY: { leased: "RUNNING", upstream_failed: "BLOCKED", cancel: "CANCELLED", skip: "SKIPPED" },
  // a failure or kill with budget left goes back to READY; budget spent → FAILED
  RUNNING: { succeeded: "SUCCEEDED", retry: "READY", failed: "FAILED", cancel: "CANCELLED" },
  // `orrery retry`: FAILED back to READY, its BLOCKED downstream back to waiting for inputs
  FAILED: { requeue: "READY", cancel: "CANCELLED" },
  BLOCKED: { requeue: "PENDING", cancel: "CANCELLED" },
  SUCCEEDED: {},
  CANCELLED: {},
  SKIPPED: {},
};

describe("quantum lifecycle", () => {
  it("follows DESIGN.md's table for every state and event", () => {
    for (const state of QuantumStates) {
      for (const event of EVENTS) {
        const expected = LIFECYCLE[state][event];
        expect(canTransition(state, event), `${state} + ${event}`).toBe(expected !== undefined);
        if (expected !== undefined) expect(nextState(state, event, "q")).toBe(expected);
      }
    }
  });

  it("walks a quantum through fail → retry → succeed", () => {
    let s: QuantumState = "PENDING";
    for (const e of ["inputs_ready", "leased", "retry", "leased", "failed", "requeue", "leased", "succeeded"] as const) s = nextState(s, e, "mini-drp.isr.1");
    expect(s).toBe("SUCCEEDED");
  });

  it("refuses an illegal transition with ILLEGAL_TRANSITION naming quantum, event and state", () => {
    const illegal: [QuantumState, QuantumEvent][] = [
      ["PENDING", "leased"], // inputs not there yet
      ["READY", "succeeded"], // never ran
      ["SUCCEEDED", "retry"],
      ["SUCCEEDED", "cancel"], // a success is a fact
      ["CANCELLED", "requeue"],
      ["RUNNING", "skip"],
    ];
    for (const [state, event] of illegal) {
      let caught: unknown;
      try {
        nextState(state, event, "mini-drp.isr.3");
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(OrreryError);
      expect((caught as OrreryError).code).toBe(ErrorCode.ILLEGAL_TRANSITION);
      expect((caught as OrreryError).message).toBe(`quantum mini-drp.isr.3: ${event} is not allowed in state ${state}`);
    }
  });

  it("counts as terminal the states a campaign waits for no more", () => {
    expect([...TERMINAL].sort()).toEqual(["BLOCKED", "CANCELLED", "FAILED", "SKIPPED", "SUCCEEDED"]);
  });
});

describe("outcome classes", () => {
  it("tells successes, failures, kills and infrastructure errors apart", () => {
    expect(
      Object.fromEntries(["succeeded", "payload_error", "out_of_memory", "timeout", "preempted", "lost", "stage_in_error", "stage_out_error"].map((o) => [o, outcomeClass(o)])),
    ).toEqual({
      succeeded: "success",
      payload_error: "failure",
      out_of_memory: "failure",
      timeout: "failure",
      preempted: "kill",
      lost: "kill",
      stage_in_error: "infrastructure",
      stage_out_error: "infrastructure",
    });
  });
});

describe("campaignStateFor", () => {
  const counts = (n: Partial<Record<QuantumState, number>>) => ({ ...emptyCounts(), ...n });

  it("is RUNNING while any quantum is PENDING, READY or RUNNING", () => {
    expect(campaignStateFor(counts({ PENDING: 1, SUCCEEDED: 5 }), "RUNNING")).toBe("RUNNING");
    expect(campaignStateFor(counts({ READY: 1, FAILED: 1 }), "RUNNING")).toBe("RUNNING");
    expect(campaignStateFor(counts({ RUNNING: 1, BLOCKED: 2 }), "RUNNING")).toBe("RUNNING");
  });

  it("stays PAUSED while quanta are open", () => {
    expect(campaignStateFor(counts({ READY: 3 }), "PAUSED")).toBe("PAUSED");
  });

  it("SUCCEEDED when every quantum succeeded or was skipped (or there were none)", () => {
    expect(campaignStateFor(counts({ SUCCEEDED: 8, SKIPPED: 2 }), "RUNNING")).toBe("SUCCEEDED");
    expect(campaignStateFor(counts({}), "RUNNING")).toBe("SUCCEEDED");
  });

  it("FAILED when every quantum is done and one failed, was blocked or cancelled", () => {
    expect(campaignStateFor(counts({ SUCCEEDED: 8, FAILED: 1 }), "RUNNING")).toBe("FAILED");
    expect(campaignStateFor(counts({ SUCCEEDED: 8, BLOCKED: 1 }), "RUNNING")).toBe("FAILED");
    expect(campaignStateFor(counts({ SUCCEEDED: 8, CANCELLED: 1 }), "PAUSED")).toBe("FAILED");
  });

  it("RUNNING again after `orrery retry` requeues a FAILED campaign's quanta", () => {
    expect(campaignStateFor(counts({ SUCCEEDED: 8, READY: 1, PENDING: 2 }), "FAILED")).toBe("RUNNING");
  });

  it("a CANCELLED campaign stays CANCELLED", () => {
    expect(campaignStateFor(counts({ READY: 3 }), "CANCELLED")).toBe("CANCELLED");
    expect(campaignStateFor(counts({ SUCCEEDED: 3 }), "CANCELLED")).toBe("CANCELLED");
  });
});
