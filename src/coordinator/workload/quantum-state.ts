import { ErrorCode, OrreryError } from "../../common/errors.js";

export const QuantumStates = ["PENDING", "READY", "RUNNING", "SUCCEEDED", "FAILED", "BLOCKED", "CANCELLED", "SKIPPED"] as const;
export type QuantumState = (typeof QuantumStates)[number];

export type QuantumEvent =
  | "inputs_ready" // all upstream quanta succeeded
  | "leased"
  | "succeeded"
  | "retry" // failure or kill with budget left
  | "failed" // budget spent
  | "upstream_failed"
  | "cancel"
  | "skip"
  | "requeue"; // operator retry of a FAILED/BLOCKED quantum

/** The quantum lifecycle of DESIGN.md as a table: (state, event) → next state. */
const TRANSITIONS: Record<QuantumState, Partial<Record<QuantumEvent, QuantumState>>> = {
  PENDING: { inputs_ready: "READY", upstream_failed: "BLOCKED", cancel: "CANCELLED", skip: "SKIPPED" },
  READY: { leased: "RUNNING", upstream_failed: "BLOCKED", cancel: "CANCELLED", skip: "SKIPPED" },
  RUNNING: { succeeded: "SUCCEEDED", retry: "READY", failed: "FAILED", cancel: "CANCELLED" },
  SUCCEEDED: {},
  FAILED: { requeue: "READY", cancel: "CANCELLED" },
  BLOCKED: { requeue: "PENDING", cancel: "CANCELLED" },
  CANCELLED: {},
  SKIPPED: {},
};

/** `quantum` names it in the error; a function is called only then (a million transitions make no id strings). */
export function nextState(state: QuantumState, event: QuantumEvent, quantum: string | (() => string)): QuantumState {
  const next = TRANSITIONS[state][event];
  if (next === undefined) {
    throw new OrreryError(ErrorCode.ILLEGAL_TRANSITION, `quantum ${typeof quantum === "string" ? quantum : quantum()}: ${event} is not allowed in state ${state}`);
  }
  return next;
}

export function canTransition(state: QuantumState, event: QuantumEvent): boolean {
  return TRANSITIONS[state][event] !== undefined;
}

/**
 * Done for downstream readiness and campaign success. Both states have no
 * way out (TRANSITIONS), so a done quantum's progress is final.
 */
export function isDone(state: QuantumState | undefined): boolean {
  return state === "SUCCEEDED" || state === "SKIPPED";
}

export const TERMINAL: ReadonlySet<QuantumState> = new Set(["SUCCEEDED", "FAILED", "BLOCKED", "CANCELLED", "SKIPPED"]);

/** Outcome classes the agent reports (DESIGN.md). */
export const Outcomes = ["succeeded", "payload_error", "out_of_memory", "timeout", "preempted", "lost", "stage_in_error", "stage_out_error", "agent_error", "out_of_disk"] as const;
export type Outcome = (typeof Outcomes)[number];

export function outcomeClass(outcome: string): "success" | "failure" | "kill" | "infrastructure" {
  switch (outcome) {
    case "succeeded":
      return "success";
    case "preempted":
    case "lost":
      return "kill";
    case "stage_in_error":
    case "stage_out_error":
    case "agent_error":
      return "infrastructure";
    // out_of_disk: the payload wrote more than it asked for, its own failure (like a timeout).
    default:
      return "failure";
  }
}
