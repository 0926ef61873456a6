// How an attempt ended, in the outcome classes the coordinator acts on.
import { existsSync, statSync } from "node:fs";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { QuantumResultSchema } from "../gen/orrery/v1/agent_link_pb.js";
import type { AttemptOutcome } from "../gen/orrery/v1/common_pb.js";
import { attemptOutcomes } from "../common/wire-enums.js";
import { ErrorCode, isOrreryError } from "../common/errors.js";
import type { PayloadRun } from "./exec/index.js";

export const Outcome = {
  SUCCEEDED: "succeeded",
  PAYLOAD_ERROR: "payload_error",
  OUT_OF_MEMORY: "out_of_memory",
  TIMEOUT: "timeout",
  PREEMPTED: "preempted",
  LOST: "lost",
  STAGE_IN_ERROR: "stage_in_error",
  STAGE_OUT_ERROR: "stage_out_error",
  /** The agent could not run or journal the attempt: an infrastructure error, not the payload's. */
  AGENT_ERROR: "agent_error",
  /** The payload's scratch outgrew its diskMB, or the node's disk ran low: killed by the agent. */
  OUT_OF_DISK: "out_of_disk",
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** The wire form of an outcome: the coordinator refuses a result whose outcome is not one of its enum values. */
export function wireOutcome(outcome: Outcome): AttemptOutcome {
  return attemptOutcomes.value(outcome)!;
}

/** Why the agent stopped a lease itself; the abort reason of its signal. */
export interface StopRequest {
  kind: "cancelled" | "preempted";
  message: string;
}

export function isStopRequest(value: unknown): value is StopRequest {
  const v = value as StopRequest | undefined;
  return typeof v === "object" && v !== null && (v.kind === "cancelled" || v.kind === "preempted");
}

/** Where in the lease's life an error happened decides its class. */
export type LeasePhase = "stage_in" | "prepare" | "run" | "stage_out";

export function outcomeOfError(phase: LeasePhase, err: unknown): Outcome {
  if (isOrreryError(err, ErrorCode.STAGE_IN)) return Outcome.STAGE_IN_ERROR;
  if (isOrreryError(err, ErrorCode.STAGE_OUT)) return Outcome.STAGE_OUT_ERROR;
  switch (phase) {
    case "stage_in":
      return Outcome.STAGE_IN_ERROR;
    case "stage_out":
      return Outcome.STAGE_OUT_ERROR;
    default:
      return Outcome.PAYLOAD_ERROR;
  }
}

export interface RunVerdict {
  outcome: Outcome;
  message: string;
}

const MiB = 1024 * 1024;

/** Classifies a finished payload run (not aborted); `outputs` are the declared outputs with their local paths. */
export function judgeRun(
  run: PayloadRun,
  argv: readonly string[],
  limits: { softS: number; hardS: number; memoryMb: number },
  outputs: readonly { role: string; did: string; path: string }[],
): RunVerdict {
  const how = run.signal !== null ? `was killed by ${run.signal}` : `exited with code ${String(run.exitCode)}`;
  switch (run.end) {
    case "spawn_error":
      return { outcome: Outcome.PAYLOAD_ERROR, message: `cannot start ${argv[0] ?? "the payload"}: ${run.error ?? "unknown error"}` };
    case "out_of_memory":
      return {
        outcome: Outcome.OUT_OF_MEMORY,
        message: `the payload used ${Math.round(run.peakRssBytes / MiB)} MiB, over its memory limit of ${limits.memoryMb} MiB`,
      };
    case "out_of_disk":
      return { outcome: Outcome.OUT_OF_DISK, message: diskMessage(run) };
    case "timeout":
      return { outcome: Outcome.TIMEOUT, message: `the payload reached its time limit of ${limits.hardS}s and was killed` };
    case "soft_timeout":
      if (run.exitCode !== 0) {
        return { outcome: Outcome.TIMEOUT, message: `the payload reached its soft time limit of ${limits.softS}s (SIGTERM) and ${how}` };
      }
      break;
    default:
      break;
  }
  if (run.exitCode !== 0) return { outcome: Outcome.PAYLOAD_ERROR, message: `the payload ${how}` };
  const missing = outputs.filter((o) => !existsSync(o.path) || !statSync(o.path).isFile());
  if (missing.length > 0) {
    const list = missing.map((o) => `${o.role} ${o.did}`).join(", ");
    return { outcome: Outcome.PAYLOAD_ERROR, message: `the payload exited 0 but did not write its declared output${missing.length > 1 ? "s" : ""} ${list}` };
  }
  return { outcome: Outcome.SUCCEEDED, message: "" };
}

/** What the disk watch found, in MB: the scratch used against the quantum's diskMB, or the node's free disk. */
function diskMessage(run: PayloadRun): string {
  const d = run.disk;
  if (d === undefined) return "the payload ran out of disk and was killed";
  const mb = (bytes: number) => Math.ceil(bytes / MiB);
  if (d.cause === "limit") return `the payload's scratch used ${mb(d.usedBytes)} MB, over its disk limit (diskMB) of ${mb(d.limitBytes)} MB; it was killed`;
  return `the node's free disk fell to ${mb(d.nodeFreeBytes)} MB while the payload's scratch used ${mb(d.usedBytes)} MB (its diskMB is ${mb(d.limitBytes)} MB); it was killed`;
}

/** A result for an attempt that never ran to the end here (preempted while waiting, abandoned by a restart). */
export function bareResult(
  lease: { leaseId: string; quantumId: string; attempt: number },
  outcome: Outcome,
  message: string,
  startMs: number,
): MessageInitShape<typeof QuantumResultSchema> {
  return {
    leaseId: lease.leaseId,
    quantumId: lease.quantumId,
    attempt: lease.attempt,
    outcome: wireOutcome(outcome),
    exitCode: -1,
    message,
    startMs: BigInt(startMs),
    endMs: BigInt(Date.now()),
  };
}
