import { describe, expect, it } from "vitest";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { canTransition, nextState, outcomeClass, QuantumStates, TERMINAL, type QuantumEvent, type QuantumState } from "./quantum-state.js";

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
      Object.fromEntries(["succeeded", "payload_error", "out_of_memory", "timeout", "preempted", "lost", "stage_in_error", "stage_out_error", "out_of_disk"].map((o) => [o, outcomeClass(o)])),
    ).toEqual({
      succeeded: "success",
      payload_error: "failure",
      out_of_memory: "failure",
      timeout: "failure",
      preempted: "kill",
      lost: "kill",
      stage_in_error: "infrastructure",
      stage_out_error: "infrastructure",
      out_of_disk: "failure",
    });
  });
});
