// The edge of the agent link: every message an agent sends is parsed here
// into typed values, or refused with the field and the rule it broke. An
// agent is untrusted (DESIGN.md, "Untrusted input and security"): nothing
// past this file sees a raw wire message.
import { z } from "../../common/zod.js";
import type { AgentMessage } from "../../gen/orrery/v1/agent_link_pb.js";
import { AttemptOutcome, NodeKind } from "../../gen/orrery/v1/common_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { AttemptReport } from "../workload/index.js";
import { attemptOutcomes, nodeKinds } from "../../common/wire-enums.js";
import { describeIssue, type Limits, LIMITS } from "./agent-message-rules.js";

export type AgentKind = NonNullable<ReturnType<typeof nodeKinds.name>>;

export interface AgentHello {
  agentId: string;
  site: string;
  kind: AgentKind;
  cores: number;
  memoryMB: number;
  diskMB: number;
  cacheBytes: number;
  cacheFiles: number;
  host: string;
  cachedDids: string[];
  prefetch: number;
  /** A pilot's end (ms since the epoch), undefined for agents without one. */
  leaveByMs: number | undefined;
  /** A pilot's batch job id ("" for other agents). */
  batchJob: string;
}

export interface AgentResources {
  cores: number;
  memoryMB: number;
  diskMB: number;
}

export interface AgentCredit {
  free: AgentResources;
  prefetch: AgentResources;
}

export interface AgentHeartbeat {
  running: string[];
  cacheBytes: number;
  cacheAdded: string[];
  cacheRemoved: string[];
}

export type AgentResult = AttemptReport & { peakRssBytes: number };

export type ParsedAgentMessage =
  | { case: "hello"; value: AgentHello }
  | { case: "credit"; value: AgentCredit }
  | { case: "heartbeat"; value: AgentHeartbeat }
  | { case: "result"; value: AgentResult };

/** Why a message was refused: the coordinator counts refusals by these. */
export type RefusalReason =
  | "unknown_message"
  | "hello_missing"
  | "hello_repeated"
  | "malformed_hello"
  | "malformed_credit"
  | "malformed_heartbeat"
  | "malformed_result"
  | "foreign_lease";

export interface Refusal {
  reason: RefusalReason;
  /** INVALID_ARGUMENT, or PERMISSION_DENIED for a lease of another agent; its message names the field. */
  error: OrreryError;
}

export type ParseResult = { ok: true; message: ParsedAgentMessage } | { ok: false; refusal: Refusal };

function schemas(l: Limits) {
  const int = (min: number, max: number) => z.number().int().min(min).max(max);
  const big = (max: number) =>
    z
      .bigint()
      .min(0n)
      .max(BigInt(max))
      .transform((v) => Number(v));
  const dids = z.array(z.string().max(l.didLength).regex(l.did)).max(l.cacheDids);
  const output = z.object({
    role: z.string().regex(l.role),
    did: z.string().max(l.didLength).regex(l.did),
    rse: z.string().regex(l.rse),
    bytes: big(l.maxBytes),
    adler32: z.string().regex(/^[0-9a-f]{8}$/),
    md5: z.string().regex(/^[0-9a-f]{32}$/),
  });
  return {
    hello: z.object({
      agentId: z.string().regex(l.agentId),
      site: z.string().regex(l.site),
      kind: z.enum(NodeKind).refine((k) => k !== NodeKind.UNSPECIFIED),
      cores: int(1, l.cores),
      memoryMb: int(1, l.memoryMB),
      diskMb: int(0, l.diskMB),
      cacheBytes: big(l.maxBytes),
      cacheFiles: int(0, l.cacheFiles),
      host: z.string().regex(l.host),
      cachedDids: dids,
      prefetch: int(0, l.prefetch),
      leaveByMs: big(l.maxMs),
      batchJob: z.string().regex(l.batchJob),
    }),
    credit: z.object({
      freeCores: int(0, l.cores),
      freeMemoryMb: int(0, l.memoryMB),
      freeDiskMb: int(0, l.diskMB),
      prefetchCores: int(0, l.cores * l.prefetch),
      prefetchMemoryMb: int(0, l.memoryMB * l.prefetch),
      prefetchDiskMb: int(0, l.diskMB * l.prefetch),
    }),
    heartbeat: z.object({
      running: z.array(z.string().regex(l.leaseId)).max(l.runningLeases),
      cacheBytes: big(l.maxBytes),
      cacheAdded: dids,
      cacheRemoved: dids,
    }),
    result: z
      .object({
        leaseId: z.string().regex(l.leaseId),
        quantumId: z.string().regex(l.quantumId),
        attempt: int(1, l.attempts),
        // CANCELLED is the coordinator's own (an operator's cancel): an agent reports what ran.
        outcome: z.enum(AttemptOutcome).refine((o) => o !== AttemptOutcome.UNSPECIFIED && o !== AttemptOutcome.CANCELLED),
        exitCode: int(l.exitCode.min, l.exitCode.max),
        message: z.string().max(l.messageLength),
        startMs: big(l.maxMs),
        endMs: big(l.maxMs),
        outputs: z.array(output).max(l.outputs),
        stdoutTail: z.string().max(l.tailLength),
        stderrTail: z.string().max(l.tailLength),
        provenanceJson: z.string().max(l.provenanceLength).refine(isJsonObjectOrEmpty),
        peakRssBytes: big(l.maxBytes),
      })
      // The lease id is quantum#attempt as leased: a result that mixes two leases is refused.
      // Cross-field rules run only on fields that passed (zod runs refinements after field issues too).
      .refine((r) => r.leaseId === `${r.quantumId}#${r.attempt}`, { path: ["leaseId"], params: { rule: "lease_id_mismatch" }, when: clean })
      .refine((r) => r.endMs >= r.startMs, { path: ["endMs"], params: { rule: "end_before_start" }, when: clean })
      .refine((r) => r.endMs - r.startMs <= l.maxDurationMs, { path: ["endMs"], params: { rule: "duration" }, when: clean }),
  };
}

const clean = (payload: z.core.ParsePayload) => payload.issues.length === 0;

function isJsonObjectOrEmpty(text: string): boolean {
  if (text === "") return true;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

export class AgentMessageParser {
  private readonly s: ReturnType<typeof schemas>;

  constructor(private readonly limits: Limits = LIMITS) {
    this.s = schemas(limits);
  }

  /** `helloSeen`: whether this stream has had its Hello (it must come first, and once). */
  parse(msg: AgentMessage, helloSeen: boolean): ParseResult {
    const m = msg.msg;
    if (m.case === undefined) return refuse("unknown_message", ErrorCode.INVALID_ARGUMENT, "agent message: not a Hello, Credit, Heartbeat or QuantumResult");
    if (m.case === "hello" && helloSeen) return refuse("hello_repeated", ErrorCode.INVALID_ARGUMENT, "hello: sent twice on one stream");
    if (m.case !== "hello" && !helloSeen) return refuse("hello_missing", ErrorCode.INVALID_ARGUMENT, `${m.case}: the first message on the agent link must be Hello`);
    switch (m.case) {
      case "hello": {
        const r = this.s.hello.safeParse(m.value);
        if (!r.success) return malformed("hello", r.error, m.value, this.limits);
        const h = r.data;
        const value: AgentHello = {
          agentId: h.agentId,
          site: h.site,
          // The schema let only known kinds through.
          kind: nodeKinds.name(h.kind)!,
          cores: h.cores,
          memoryMB: h.memoryMb,
          diskMB: h.diskMb,
          cacheBytes: h.cacheBytes,
          cacheFiles: h.cacheFiles,
          host: h.host,
          cachedDids: h.cachedDids,
          prefetch: h.prefetch,
          leaveByMs: h.leaveByMs > 0 ? h.leaveByMs : undefined,
          batchJob: h.batchJob,
        };
        return { ok: true, message: { case: "hello", value } };
      }
      case "credit": {
        const r = this.s.credit.safeParse(m.value);
        if (!r.success) return malformed("credit", r.error, m.value, this.limits);
        const c = r.data;
        const free = { cores: c.freeCores, memoryMB: c.freeMemoryMb, diskMB: c.freeDiskMb };
        const prefetch = { cores: c.prefetchCores, memoryMB: c.prefetchMemoryMb, diskMB: c.prefetchDiskMb };
        return { ok: true, message: { case: "credit", value: { free, prefetch } } };
      }
      case "heartbeat": {
        const r = this.s.heartbeat.safeParse(m.value);
        if (!r.success) return malformed("heartbeat", r.error, m.value, this.limits);
        return { ok: true, message: { case: "heartbeat", value: r.data } };
      }
      case "result": {
        const r = this.s.result.safeParse(m.value);
        if (!r.success) return malformed("result", r.error, m.value, this.limits);
        const d = r.data;
        const value: AgentResult = {
          leaseId: d.leaseId,
          quantumId: d.quantumId,
          attempt: d.attempt,
          outcome: attemptOutcomes.name(d.outcome)!,
          exitCode: d.exitCode,
          message: d.message,
          startMs: d.startMs,
          endMs: d.endMs,
          outputs: d.outputs,
          stdout: d.stdoutTail,
          stderr: d.stderrTail,
          provenanceJson: d.provenanceJson,
          peakRssBytes: d.peakRssBytes,
        };
        return { ok: true, message: { case: "result", value } };
      }
    }
  }
}

function refuse(reason: RefusalReason, code: ErrorCode, message: string): ParseResult {
  return { ok: false, refusal: { reason, error: new OrreryError(code, message) } };
}

/** The first problem, named by its proto field (snake_case, as in agent_link.proto). */
function malformed(kind: "hello" | "credit" | "heartbeat" | "result", error: z.ZodError, input: unknown, limits: Limits): ParseResult {
  const issue = error.issues[0]!;
  return refuse(`malformed_${kind}`, ErrorCode.INVALID_ARGUMENT, `${kind}.${describeIssue(issue, input, limits)}`);
}

/** A refusal of a result or heartbeat naming leases another agent holds. */
export function foreignLeaseRefusal(what: "result" | "heartbeat", field: string, leaseIds: readonly string[]): Refusal {
  const shown = leaseIds.slice(0, 3).join(", ") + (leaseIds.length > 3 ? ` and ${leaseIds.length - 3} more` : "");
  return {
    reason: "foreign_lease",
    error: new OrreryError(ErrorCode.PERMISSION_DENIED, `${what}.${field}: lease ${shown} is held by another agent`),
  };
}
