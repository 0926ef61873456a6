import { outcomeClass } from "./quantum-state.js";
import type { QuantumProgress } from "./model.js";
import type { CampaignSpec } from "../campaign/index.js";

/** Infrastructure errors (storage down, bad replica) get their own budget. */
export const INFRA_RETRIES = 5;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 60_000;

export interface RetryDecision {
  retry: boolean;
  counter: "failures" | "kills" | "infraErrors";
  memoryMB: number;
  readyAtMs: number;
  reason: string;
}

/** What to do after an attempt that did not succeed (DESIGN.md's outcome table). */
export function decideRetry(
  outcome: string,
  exitCode: number,
  progress: QuantumProgress,
  retries: CampaignSpec["retries"],
  nowMs: number,
  /** Memory of the largest agent connected now, if any: more than that could never be placed. */
  largestAgentMemoryMB?: number,
): RetryDecision {
  const cls = outcomeClass(outcome);
  const backoff = (n: number) => nowMs + Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, n - 1));
  if (cls === "kill") {
    const n = progress.kills + 1;
    // A kill is not the payload's fault: retry at once, no backoff.
    return { retry: n <= retries.kills, counter: "kills", memoryMB: progress.memoryMB, readyAtMs: nowMs, reason: `${n} kill(s), budget ${retries.kills}` };
  }
  if (cls === "infrastructure") {
    const n = progress.infraErrors + 1;
    return { retry: n <= INFRA_RETRIES, counter: "infraErrors", memoryMB: progress.memoryMB, readyAtMs: backoff(n), reason: `${n} infrastructure error(s), budget ${INFRA_RETRIES}` };
  }
  const n = progress.failures + 1;
  if (outcome === "payload_error" && retries.unlessExit.includes(exitCode)) {
    return { retry: false, counter: "failures", memoryMB: progress.memoryMB, readyAtMs: nowMs, reason: `exit code ${exitCode} is in retries.unlessExit` };
  }
  let memoryMB = progress.memoryMB;
  if (outcome === "out_of_memory") {
    // The most a retry can ask for: memoryMax, and no more than any agent has (else it waits READY forever).
    const ceiling = Math.min(retries.memoryMax, largestAgentMemoryMB ?? Infinity);
    if (memoryMB >= ceiling) {
      const where = ceiling === retries.memoryMax ? `retries.memoryMax (${retries.memoryMax} MB)` : `${ceiling} MB, the most any connected agent has`;
      return { retry: false, counter: "failures", memoryMB, readyAtMs: nowMs, reason: `out of memory at ${where}` };
    }
    memoryMB = Math.min(ceiling, Math.ceil(memoryMB * retries.memoryMultiplier));
  }
  return { retry: n <= retries.failures, counter: "failures", memoryMB, readyAtMs: backoff(n), reason: `${n} failure(s), budget ${retries.failures}` };
}
