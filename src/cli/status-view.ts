// Pure conversions from the coordinator's wire messages to what the CLI shows:
// the JSON shapes of the contract, progress lines and final state lines.
import { formatDataId, parseDataId, type DataId } from "../common/data-id.js";
import type { AgentInfo, Attempt, CampaignStatus, QuantumInfo, StateCount } from "../gen/orrery/v1/coordinator_pb.js";
import { AttemptOutcome } from "../gen/orrery/v1/common_pb.js";
import { attemptOutcomes, campaignStates, nodeKinds, quantumStates } from "../common/wire-enums.js";

/** Quantum states in lifecycle order (DESIGN.md); counts are listed in this order. */
export const QUANTUM_STATES = ["PENDING", "READY", "RUNNING", "SUCCEEDED", "FAILED", "BLOCKED", "CANCELLED", "SKIPPED"] as const;

/** Campaign states after which nothing more happens. */
export const TERMINAL_CAMPAIGN_STATES: ReadonlySet<string> = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** Quanta in these states have finished their work (SKIPPED: an identical one already succeeded). */
const DONE_STATES = ["SUCCEEDED", "SKIPPED"] as const;

export type StateCounts = Record<string, number>;

export interface CampaignStatusJson {
  campaign: string;
  state: string;
  priority: number;
  share: number;
  counts: StateCounts;
  tasks: Record<string, StateCounts>;
  failures: number;
  kills: number;
  /** Tasks whose READY quanta no connected agent can run, and why. */
  unschedulable: { task: string; quanta: number; reason: string }[];
  /** Ended attempts by node kind (hpc, spot, static): a spot fleet's pre-emption rate and lost CPU. */
  nodeKinds: Record<string, NodeKindJson>;
}

export interface NodeKindJson {
  attempts: number;
  preempted: number;
  lost: number;
  /** preempted / attempts. */
  preemptionRate: number;
  /** Payload CPU and wall seconds of all ended attempts. */
  cpuSeconds: number;
  wallSeconds: number;
  /** Of those that ended preempted or lost (work done again elsewhere). */
  lostCpuSeconds: number;
  lostWallSeconds: number;
}

export interface AttemptJson {
  agent: string;
  site: string;
  outcome: string;
  exitCode: number;
  start: string | null;
  end: string | null;
  /** Why it ended as it did (empty for a success): e.g. how much disk a payload over its diskMB used. */
  message: string;
}

export interface QuantumJson {
  id: string;
  task: string;
  dataId: DataId;
  state: string;
  inputs: string[];
  outputs: string[];
  attempts: AttemptJson[];
}

export interface AgentJson {
  id: string;
  site: string;
  kind: string;
  cores: number;
  freeCores: number;
  running: number;
  cacheBytes: number;
  /** A pilot's batch job id, and when it leaves (ISO time); absent for other agents. */
  batchJob?: string;
  leaveBy?: string;
}

export function isTerminalCampaignState(state: string): boolean {
  return TERMINAL_CAMPAIGN_STATES.has(state);
}

/** Repeated StateCount → {STATE: n}, every known quantum state present (0 when absent) so scripts can index it. */
export function countsToObject(counts: readonly StateCount[]): StateCounts {
  const out: StateCounts = {};
  for (const s of QUANTUM_STATES) out[s] = 0;
  for (const c of counts) {
    const state = quantumStates.name(c.state) ?? `UNKNOWN_${c.state}`;
    out[state] = (out[state] ?? 0) + c.count;
  }
  return out;
}

export function campaignStatusToJson(status: CampaignStatus): CampaignStatusJson {
  const tasks: Record<string, StateCounts> = {};
  for (const t of status.tasks) tasks[t.task] = countsToObject(t.counts);
  return {
    campaign: status.campaign,
    state: campaignStates.name(status.state) ?? "UNKNOWN",
    priority: status.priority,
    share: status.share,
    counts: countsToObject(status.counts),
    tasks,
    failures: status.failures,
    kills: status.kills,
    unschedulable: status.unschedulable.map((u) => ({ task: u.task, quanta: u.quanta, reason: u.reason })),
    nodeKinds: Object.fromEntries(
      status.nodeKinds.map((k) => [
        k.kind,
        {
          attempts: k.attempts,
          preempted: k.preempted,
          lost: k.lost,
          preemptionRate: k.attempts > 0 ? Math.round((k.preempted / k.attempts) * 10_000) / 10_000 : 0,
          cpuSeconds: k.cpuSeconds,
          wallSeconds: k.wallSeconds,
          lostCpuSeconds: k.lostCpuSeconds,
          lostWallSeconds: k.lostWallSeconds,
        },
      ]),
    ),
  };
}

function msToIso(ms: bigint): string | null {
  return ms > 0n ? new Date(Number(ms)).toISOString() : null;
}

export function attemptToJson(a: Attempt): AttemptJson {
  return { agent: a.agent, site: a.site, outcome: attemptOutcomes.name(a.outcome) ?? "", exitCode: a.exitCode, start: msToIso(a.startMs), end: msToIso(a.endMs), message: a.message };
}

/** The data id travels as a JSON string; a malformed one shows as empty rather than failing the listing. */
export function quantumDataId(q: QuantumInfo): DataId {
  try {
    return parseDataId(q.dataId);
  } catch {
    return {};
  }
}

export function quantumToJson(q: QuantumInfo): QuantumJson {
  return {
    id: q.id,
    task: q.task,
    dataId: quantumDataId(q),
    state: quantumStates.name(q.state) ?? "UNKNOWN",
    inputs: [...q.inputs],
    outputs: [...q.outputs],
    attempts: q.attempts.map(attemptToJson),
  };
}

export function agentToJson(a: AgentInfo): AgentJson {
  return {
    id: a.id,
    site: a.site,
    kind: nodeKinds.name(a.kind) ?? "unknown",
    cores: a.cores,
    freeCores: a.freeCores,
    running: a.running,
    cacheBytes: Number(a.cacheBytes),
    ...(a.batchJob !== "" ? { batchJob: a.batchJob } : {}),
    ...(a.leaveByMs > 0n ? { leaveBy: new Date(Number(a.leaveByMs)).toISOString() } : {}),
  };
}

export function total(counts: StateCounts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

export function done(counts: StateCounts): number {
  return DONE_STATES.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
}

/** `18 SUCCEEDED, 2 FAILED`: the non-zero counts in lifecycle order, unknown states last. */
export function formatCounts(counts: StateCounts): string {
  const known: string[] = QUANTUM_STATES.filter((s) => (counts[s] ?? 0) > 0);
  const extra = Object.keys(counts).filter((s) => !known.includes(s) && !(QUANTUM_STATES as readonly string[]).includes(s) && counts[s]! > 0);
  return [...known, ...extra].map((s) => `${counts[s]} ${s}`).join(", ");
}

/** `mini-drp  RUNNING  12/20 done  (isr 8/8, calibrate 4/8, coadd 0/4)`, plus failed/blocked when any. */
export function progressLine(s: CampaignStatusJson): string {
  const tasks = Object.entries(s.tasks)
    .map(([name, c]) => `${name} ${done(c)}/${total(c)}`)
    .join(", ");
  const trouble = ["FAILED", "BLOCKED"]
    .filter((st) => (s.counts[st] ?? 0) > 0)
    .map((st) => `  ${s.counts[st]} ${st}`)
    .join("");
  return `${s.campaign}  ${s.state}  ${done(s.counts)}/${total(s.counts)} done${trouble}${tasks ? `  (${tasks})` : ""}`;
}

/** `mini-drp: SUCCEEDED (20 quanta: 20 SUCCEEDED)` */
export function finalLine(s: CampaignStatusJson): string {
  const n = total(s.counts);
  const detail = formatCounts(s.counts);
  return `${s.campaign}: ${s.state} (${n} ${n === 1 ? "quantum" : "quanta"}${detail ? `: ${detail}` : ""})`;
}

/** What a live bar shows after the count: the states still in play for that task. */
export function taskBarDetail(counts: StateCounts): string {
  const shown = ["RUNNING", "READY", "PENDING", "FAILED", "BLOCKED", "CANCELLED"].filter((s) => (counts[s] ?? 0) > 0);
  return shown.map((s) => `${counts[s]} ${s.toLowerCase()}`).join(", ");
}

export function formatQuantumDataId(q: QuantumInfo): string {
  return formatDataId(quantumDataId(q));
}

/** `outcome@agent` of the last attempt, or `-` when it never ran. */
export function lastAttempt(q: QuantumInfo): string {
  const last = q.attempts.at(-1);
  if (last === undefined) return "-";
  const exit = last.outcome === AttemptOutcome.PAYLOAD_ERROR ? ` (exit ${last.exitCode})` : "";
  return `${attemptOutcomes.name(last.outcome) ?? "running"}${exit} on ${last.agent}`;
}

/** Bytes as a short human figure: 0 B, 12.3 MB, 4.0 GB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
