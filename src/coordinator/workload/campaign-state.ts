// The campaign lifecycle as a table, like the quantum one (quantum-state.ts):
// (state, event) → next state. Operators pause, resume and cancel; the
// workload manager settles a campaign when its quanta end (or a retry reopens
// it). Anything else is refused with the states that would allow it.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { QuantumState } from "./quantum-state.js";

export const CampaignStates = ["RUNNING", "PAUSED", "SUCCEEDED", "FAILED", "CANCELLED"] as const;
export type CampaignState = (typeof CampaignStates)[number];

export type CampaignEvent =
  | "pause" // operator: start nothing new
  | "resume" // operator: schedulable again
  | "cancel" // operator: every open, blocked or failed quantum CANCELLED
  | "finished" // every quantum done, none failed
  | "failed" // every quantum ended, some failed, were blocked or cancelled
  | "reopened" // quanta of an ended campaign may run again (operator retry)
  | "retry"; // operator: FAILED quanta back to READY (retry.ts)

const TRANSITIONS: Record<CampaignState, Partial<Record<CampaignEvent, CampaignState>>> = {
  // Pausing a paused campaign or resuming a running one changes nothing and is not an error: scripts may repeat them.
  RUNNING: { pause: "PAUSED", resume: "RUNNING", cancel: "CANCELLED", finished: "SUCCEEDED", failed: "FAILED", retry: "RUNNING" },
  // A paused campaign is not settled while paused, even when nothing is left open: it ends when resumed.
  // A retry while paused requeues its FAILED quanta; they start once it is resumed.
  PAUSED: { pause: "PAUSED", resume: "RUNNING", cancel: "CANCELLED", retry: "PAUSED" },
  // Nothing of a SUCCEEDED campaign failed: a retry requeues nothing.
  SUCCEEDED: { retry: "SUCCEEDED" },
  // Cancelling a FAILED campaign closes its tickets: its FAILED and BLOCKED quanta become CANCELLED.
  FAILED: { cancel: "CANCELLED", reopened: "RUNNING", retry: "RUNNING" },
  CANCELLED: { cancel: "CANCELLED" },
};

/** What an operator asks, as the CLI names it. */
const VERB: Partial<Record<CampaignEvent, string>> = { pause: "paused", resume: "resumed", cancel: "cancelled", retry: "retried" };

export function canCampaignTransition(state: CampaignState, event: CampaignEvent): boolean {
  return TRANSITIONS[state][event] !== undefined;
}

/** The next state; an illegal event throws ILLEGAL_TRANSITION saying which states would allow it. */
export function nextCampaignState(state: CampaignState, event: CampaignEvent, campaign: string): CampaignState {
  const next = TRANSITIONS[state][event];
  if (next !== undefined) return next;
  const allowed = CampaignStates.filter((s) => TRANSITIONS[s][event] !== undefined);
  const verb = VERB[event];
  const message =
    verb === undefined
      ? `campaign ${campaign}: ${event} is not allowed in state ${state}`
      : `campaign ${campaign} is ${state}; only ${orList(allowed)} campaigns can be ${verb}`;
  throw new OrreryError(ErrorCode.ILLEGAL_TRANSITION, message, verb === undefined ? {} : { hint: `see its state with \`orrery status ${campaign}\`` });
}

/** Whether the campaign may still run quanta: it is live (priority changes, resubmits refused). */
export function isLiveCampaign(state: CampaignState): boolean {
  return state === "RUNNING" || state === "PAUSED";
}

/**
 * The state a campaign's quantum counts call for. A campaign ends when every
 * quantum is terminal; it succeeded if none failed, was blocked or cancelled.
 * CANCELLED stays; PAUSED stays until the operator resumes it.
 */
export function campaignStateFor(counts: Readonly<Record<QuantumState, number>>, current: CampaignState): CampaignState {
  if (current === "CANCELLED" || current === "PAUSED") return current;
  const open = counts.PENDING + counts.READY + counts.RUNNING;
  if (open > 0) return "RUNNING";
  return counts.FAILED + counts.BLOCKED + counts.CANCELLED > 0 ? "FAILED" : "SUCCEEDED";
}

/** The event that settles a campaign into `target` (a state campaignStateFor returned). */
export function settleEvent(target: CampaignState): CampaignEvent | undefined {
  switch (target) {
    case "SUCCEEDED":
      return "finished";
    case "FAILED":
      return "failed";
    case "RUNNING":
      return "reopened";
    case "PAUSED":
    case "CANCELLED":
      return undefined;
  }
}

function orList(states: readonly string[]): string {
  return states.length <= 1 ? (states[0] ?? "no") : `${states.slice(0, -1).join(", ")} or ${states[states.length - 1]!}`;
}
