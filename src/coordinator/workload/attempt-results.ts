// What an attempt's outcome does to its quantum, its downstream quanta and
// its campaign. Runs inside the manager's mailbox; changes go to the journal,
// which the handler flushes before it answers.
import type { Logger } from "../../common/logger.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { ProducedReplica } from "./model.js";
import { isDone, type QuantumState } from "./quantum-state.js";
import { campaignStateFor, canCampaignTransition, settleEvent, type CampaignState } from "./campaign-state.js";
import { decideRetry } from "./retry-policy.js";
import { makersDone } from "./quantum-links.js";
import type { ProgressJournal } from "./progress-journal.js";
import { tasksToExpand } from "../campaign/index.js";
import { countAttempt, cpuSecondsOf } from "./attempt-figures.js";
import { closeTicket, openTicket } from "./tickets.js";
import { observeEnd, type WorkloadObserver } from "./workload-observer.js";
import { accountAttempt, rseSites } from "./accounting.js";

export interface AttemptReport {
  leaseId: string;
  quantumId: string;
  attempt: number;
  outcome: string;
  exitCode: number;
  message: string;
  startMs: number;
  endMs: number;
  outputs: ProducedReplica[];
  stdout: string;
  stderr: string;
  provenanceJson: string;
}

export interface ResultContext {
  table: CampaignTable;
  journal: ProgressJournal;
  log: Logger;
  /** Quanta became READY. */
  onWork: () => void;
  /** A quantum of the campaign finished well: a deferred task may be expandable now. */
  onDone: (campaign: string) => void;
  /** Memory of the largest connected agent, if any. */
  largestAgentMemoryMB: () => number | undefined;
  /** Told of each attempt's end once it is stored (metrics). */
  observer?: WorkloadObserver | undefined;
}

export function finishAttempt(ctx: ResultContext, c: LiveCampaign, row: number, r: AttemptReport): void {
  const run = c.rows.runOf(row);
  const attempt = run.attempts[run.attempts.length - 1];
  if (attempt) {
    Object.assign(attempt, { outcome: r.outcome, exitCode: r.exitCode, message: r.message, endMs: r.endMs || Date.now(), ...(r.startMs ? { startMs: r.startMs } : {}) });
    countAttempt(c.attemptFigures, attempt, r.outcome, cpuSecondsOf(r.provenanceJson));
    const earlier = run.attempts.slice(0, -1);
    accountAttempt(c.accounting, { task: c.rows.task(row), attempt, outcome: r.outcome, provenanceJson: r.provenanceJson, outputs: r.outputs, earlier }, rseSites(ctx.table.replicas));
    // The figures live on the campaign record: stored with this attempt's progress.
    ctx.journal.touchCampaign(c.name);
    observeEnd(ctx, c, row, attempt, r.outcome, r.provenanceJson);
  }
  c.rows.setLease(row, undefined);
  if (r.outcome === "succeeded") {
    run.produced = r.outputs;
    // Its consumers prefer the site that now holds its outputs.
    const site = ctx.table.replicas.site(attempt?.site ?? "");
    if (site !== undefined) c.rows.locality.setProduced(row, site, r.outputs.reduce((sum, o) => sum + o.bytes, 0));
    ctx.table.transition(c, row, "succeeded");
    ctx.journal.succeeded(c, row);
    // A quantum retried by the operator: its ticket closes with the success that is stored.
    closeTicket(ctx.journal, c, row, Date.now());
    release(ctx, c, row);
    ctx.onDone(c.name);
  } else {
    const rows = c.rows;
    const d = decideRetry(r.outcome, r.exitCode, rows.progress(row), c.spec.retries, Date.now(), ctx.largestAgentMemoryMB());
    rows.setRetry(row, d.counter, d.memoryMB, d.readyAtMs);
    if (d.counter === "failures") c.failures++;
    if (d.counter === "kills") c.kills++;
    ctx.log.info({ quantum: rows.id(row), outcome: r.outcome, retry: d.retry, reason: d.reason }, "attempt did not succeed");
    ctx.table.transition(c, row, d.retry ? "retry" : "failed");
    ctx.journal.touch(c, row);
    if (d.retry) ctx.onWork();
    else {
      // Budget spent: a ticket for the operator, stored with this progress.
      openTicket(ctx.journal, c, row, { attempt: attempt?.number ?? r.attempt, outcome: r.outcome, exitCode: r.exitCode, message: r.message, stderr: r.stderr, reason: d.reason }, Date.now());
      block(ctx, c, row);
    }
  }
  updateCampaignState(ctx, c);
}

/** Leases past their deadline: the agent is lost; the quantum is killed, not failed. */
export function expireLeases(ctx: ResultContext, now: number): void {
  for (const c of ctx.table.campaigns.values()) {
    for (const row of [...c.rows.leased]) {
      const run = c.rows.runOf(row);
      const lease = run.lease;
      if (c.rows.state(row) !== "RUNNING" || !lease || lease.deadlineMs > now) continue;
      const id = c.rows.id(row);
      ctx.log.warn({ quantum: id, agent: lease.agent }, "lease expired; agent lost");
      finishAttempt(ctx, c, row, { leaseId: lease.id, quantumId: id, attempt: run.attempts.length, outcome: "lost", exitCode: -1, message: `agent ${lease.agent} stopped heartbeating`, startMs: 0, endMs: now, outputs: [], stdout: "", stderr: "", provenanceJson: "" });
    }
  }
}

/** Downstream quanta whose makers are all done become READY. */
export function release(ctx: ResultContext, c: LiveCampaign, row: number): void {
  let any = false;
  for (const d of c.rows.downstream(row)) {
    if (c.rows.state(d) !== "PENDING" || !makersDone(c.rows, d)) continue;
    ctx.table.transition(c, d, "inputs_ready");
    ctx.journal.touch(c, d);
    any = true;
  }
  if (any) ctx.onWork();
}

export function block(ctx: ResultContext, c: LiveCampaign, row: number): void {
  const stack = [...c.rows.downstream(row)];
  while (stack.length > 0) {
    const d = stack.pop()!;
    const s = c.rows.state(d);
    if (s !== "PENDING" && s !== "READY") continue;
    ctx.table.transition(c, d, "upstream_failed");
    ctx.journal.touch(c, d);
    stack.push(...c.rows.downstream(d));
  }
}

/** What campaignStateOf reads of a campaign. */
export type CampaignView = Pick<LiveCampaign, "counts" | "taskCounts" | "state" | "spec" | "tasks" | "expanded" | "expansionError">;

/**
 * A campaign's state from its quantum counts, except that a deferred task that
 * can be expanded now keeps it open (it has quanta still to come), and one
 * that could not be expanded makes it FAILED. PAUSED and CANCELLED stay: only
 * the operator moves a campaign out of them.
 */
export function campaignStateOf(c: CampaignView): CampaignState {
  const next = campaignStateFor(c.counts, c.state);
  if (next !== "SUCCEEDED" && next !== "FAILED") return next;
  if (c.expansionError !== "") return "FAILED";
  if (c.tasks.every((t) => c.expanded.includes(t))) return next;
  // Unexpanded tasks behind a failure never get quanta; those whose turn has come do.
  if (next === "SUCCEEDED" || tasksToExpand(c.spec, new Set(c.expanded), (t) => taskDone(c, t)).length > 0) return "RUNNING";
  return next;
}

/**
 * Moves the campaign to the state its quanta call for, through the campaign
 * transition table; true when it changed (the caller persists the record).
 */
export function settleCampaign(log: Logger, c: LiveCampaign): boolean {
  const target = campaignStateOf(c);
  if (target === c.state) return false;
  const event = settleEvent(target);
  if (event === undefined || !canCampaignTransition(c.state, event)) {
    // Not thrown: a result is being recorded; the campaign keeps its state.
    log.error({ campaign: c.name, state: c.state, target }, "campaign cannot settle into that state; kept");
    return false;
  }
  c.state = target;
  if (target === "SUCCEEDED" || target === "FAILED") c.finishedMs = Date.now();
  log.info({ campaign: c.name, state: target }, "campaign state");
  return true;
}

export function updateCampaignState(ctx: Pick<ResultContext, "journal" | "log">, c: LiveCampaign): void {
  if (settleCampaign(ctx.log, c)) ctx.journal.touchCampaign(c.name);
}

/** Every quantum of a task is done (a task with no quanta is). */
export function taskDone(c: Pick<LiveCampaign, "taskCounts">, task: string): boolean {
  const counts = c.taskCounts.get(task);
  if (!counts) return true;
  return Object.entries(counts).every(([state, n]) => n === 0 || isDone(state as QuantumState));
}
