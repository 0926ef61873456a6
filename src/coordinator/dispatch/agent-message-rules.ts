// The caps and patterns agent messages are held to, and how a broken rule is
// told back to the agent: the proto field's name, the rule, and what was sent.
import type { z } from "../../common/zod.js";

export interface Limits {
  agentId: RegExp;
  site: RegExp;
  host: RegExp;
  batchJob: RegExp;
  did: RegExp;
  didLength: number;
  role: RegExp;
  rse: RegExp;
  quantumId: RegExp;
  leaseId: RegExp;
  cores: number;
  memoryMB: number;
  diskMB: number;
  cacheFiles: number;
  /** Leases waiting beyond what runs, in multiples of the node (Hello.prefetch). */
  prefetch: number;
  /** Byte counts (cache, outputs, peak RSS): what a double holds exactly. */
  maxBytes: number;
  /** Epoch milliseconds. */
  maxMs: number;
  maxDurationMs: number;
  /** Cached DIDs in one Hello, and added or removed in one heartbeat. */
  cacheDids: number;
  runningLeases: number;
  attempts: number;
  exitCode: { min: number; max: number };
  outputs: number;
  messageLength: number;
  tailLength: number;
  provenanceLength: number;
}

const DAY_MS = 24 * 3600 * 1000;

export const LIMITS: Limits = {
  agentId: /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/,
  site: /^[A-Za-z0-9_.-]{1,64}$/,
  host: /^[A-Za-z0-9_.:%-]{0,255}$/,
  batchJob: /^[A-Za-z0-9_.:-]{0,64}$/,
  // scope:name, as the catalog allows them (dbb catalog/keys.ts): a name has no control
  // characters and no leading '/', but may hold spaces, ':' and non-ASCII letters.
  did: /^[A-Za-z0-9_.-]+:(?!\/)[^\u0000-\u001f\u007f]+$/,
  didLength: 1024,
  role: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
  rse: /^[a-z0-9-]{1,64}$/,
  // Quantum ids are campaign.task.sequence (quantum-builder.ts); lease ids add #attempt.
  quantumId: /^[A-Za-z0-9_.-]{1,256}$/,
  leaseId: /^[A-Za-z0-9_.-]{1,256}#[1-9][0-9]{0,5}$/,
  cores: 4096,
  memoryMB: 64 * 1024 * 1024,
  diskMB: 1024 * 1024 * 1024,
  cacheFiles: 1_000_000_000,
  prefetch: 16,
  maxBytes: Number.MAX_SAFE_INTEGER,
  maxMs: Number.MAX_SAFE_INTEGER,
  maxDurationMs: 365 * DAY_MS,
  cacheDids: 100_000,
  runningLeases: 100_000,
  attempts: 100_000,
  // -1 stands for "no exit code" (killed by a signal, never started).
  exitCode: { min: -1, max: 255 },
  outputs: 10_000,
  messageLength: 64 * 1024,
  // The agent sends the last 64 KiB of each log; characters never outnumber bytes.
  tailLength: 64 * 1024,
  provenanceLength: 4 * 1024 * 1024,
};

/** What each patterned field must look like, in words. */
const PATTERN_WORDS: Record<string, string> = {
  agent_id: "1..128 of [A-Za-z0-9._@:-], starting with a letter or digit",
  site: "1..64 of [A-Za-z0-9_.-]",
  host: "up to 255 of [A-Za-z0-9_.:%-]",
  batch_job: "up to 64 of [A-Za-z0-9_.:-]",
  did: "scope:name, a name without control characters or a leading '/'",
  role: "an identifier like calexp",
  rse: "1..64 of [a-z0-9-]",
  quantum_id: "1..256 of [A-Za-z0-9_.-]",
  lease_id: "quantum_id#attempt",
  running: "lease ids (quantum_id#attempt)",
  cached_dids: "DIDs (scope:name)",
  cache_added: "DIDs (scope:name)",
  cache_removed: "DIDs (scope:name)",
  adler32: "8 lower-case hex digits",
  md5: "32 lower-case hex digits",
};

const ENUM_WORDS: Record<string, string> = {
  kind: "hpc, spot or static (NodeKind)",
  outcome: "an AttemptOutcome other than UNSPECIFIED and CANCELLED",
};

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** `cachedDids.3` → `cached_dids[3]`: the field as agent_link.proto names it. */
function fieldName(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i > 0 ? "." : ""}${snake(String(p))}`)).join("");
}

/** The last named (not indexed) field of a path. */
function leafName(path: readonly PropertyKey[]): string {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === "string") return snake(path[i] as string);
  return "";
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const p of path) {
    if (typeof v !== "object" || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** A short, safe rendering of what the agent sent (it is logged and sent back). */
function shown(v: unknown): string {
  if (typeof v === "string") {
    const cut = v.length > 40 ? `${v.slice(0, 40)}…` : v;
    return JSON.stringify(cut);
  }
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `${v.length} entries`;
  return typeof v;
}

/** `field: rule (got value)` for the first problem zod found. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown, limits: Limits): string {
  const field = fieldName(issue.path);
  const leaf = leafName(issue.path);
  const value = valueAt(input, issue.path);
  const got = ` (got ${shown(value)})`;
  switch (issue.code) {
    case "too_big":
      if (issue.origin === "array") return `${field}: has ${shown(value)}, over the cap of ${String(issue.maximum)}`;
      if (issue.origin === "string") return `${field}: is ${(value as string).length} characters, over the cap of ${String(issue.maximum)}`;
      return `${field}: must be at most ${String(issue.maximum)}${got}`;
    case "too_small":
      return `${field}: must be at least ${String(issue.minimum)}${got}`;
    case "invalid_format":
      return `${field}: must be ${PATTERN_WORDS[leaf] ?? "well-formed"}${got}`;
    case "invalid_value":
      return `${field}: must be ${ENUM_WORDS[leaf] ?? "a known value"}${got}`;
    case "invalid_type":
      return `${field}: must be ${issue.expected === "int" ? "an integer" : `a ${issue.expected}`}${got}`;
    case "custom":
      return `${field}: ${customRule(issue.params?.rule, leaf, input, limits)}${got}`;
    default:
      return `${field}: ${issue.message}${got}`;
  }
}

function customRule(rule: unknown, leaf: string, input: unknown, limits: Limits): string {
  switch (rule) {
    case "lease_id_mismatch": {
      const r = input as { quantumId?: unknown; attempt?: unknown };
      return `must be quantum_id#attempt, ${shown(r.quantumId)}#${shown(r.attempt)}`;
    }
    case "end_before_start":
      return "must not be before start_ms";
    case "duration":
      return `must be within ${limits.maxDurationMs / (24 * 3600 * 1000)} days of start_ms`;
    default:
      if (leaf === "provenance_json") return "must be a JSON object";
      return `must be ${ENUM_WORDS[leaf] ?? "valid"}`;
  }
}
