// What an attempt's outcome does to its quantum, its downstream quanta and
// its campaign. Runs inside the manager's mailbox; changes go to the journal,
// which the handler flushes before it answers.
import type { Logger } from "../../common/logger.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { ProducedReplica, Quantum } from "./model.js";
import { campaignStateFor, type CampaignState, type QuantumState } from "./quantum-state.js";
import { decideRetry } from "./retry-policy.js";
import { fillInputs, isDone } from "./quantum-links.js";
import type { ProgressJournal } from "./progress-journal.js";
import { tasksToExpand } from "../campaign/deferred.js";

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
}

export function finishAttempt(ctx: ResultContext, q: Quantum, r: AttemptReport): void {
  const c = ctx.table.campaigns.get(q.campaign)!;
  const attempt = q.progress.attempts[q.progress.attempts.length - 1];
  if (attempt) Object.assign(attempt, { outcome: r.outcome, exitCode: r.exitCode, message: r.message, endMs: r.endMs || Date.now(), ...(r.startMs ? { startMs: r.startMs } : {}) });
  delete q.progress.lease;
  if (r.outcome === "succeeded") {
    q.progress.produced = r.outputs;
    ctx.table.transition(q, "succeeded");
    ctx.journal.succeeded(q);
    release(ctx, q);
    ctx.onDone(c.name);
  } else {
    const d = decideRetry(r.outcome, r.exitCode, q.progress, c.spec.retries, Date.now(), ctx.largestAgentMemoryMB());
    q.progress[d.counter] += 1;
    if (d.counter === "failures") c.failures++;
    if (d.counter === "kills") c.kills++;
    q.progress.memoryMB = d.memoryMB;
    q.progress.readyAtMs = d.readyAtMs;
    ctx.log.info({ quantum: q.id, outcome: r.outcome, retry: d.retry, reason: d.reason }, "attempt did not succeed");
    ctx.table.transition(q, d.retry ? "retry" : "failed");
    ctx.journal.touch(q);
    if (!d.retry) block(ctx, q);
    else ctx.onWork();
  }
  updateCampaignState(ctx, c);
}

/** Downstream quanta whose upstream are all done become READY, with the produced files as inputs. */
export function release(ctx: ResultContext, q: Quantum): void {
  let any = false;
  for (const id of q.downstream) {
    const d = ctx.table.quanta.get(id);
    if (!d || d.progress.state !== "PENDING") continue;
    fillInputs(d, q);
    if (d.upstream.every((u) => isDone(ctx.table.quanta.get(u)?.progress.state))) {
      ctx.table.transition(d, "inputs_ready");
      ctx.journal.touch(d);
      any = true;
    }
  }
  if (any) ctx.onWork();
}

export function block(ctx: ResultContext, q: Quantum): void {
  const stack = [...q.downstream];
  while (stack.length > 0) {
    const d = ctx.table.quanta.get(stack.pop()!);
    if (!d || (d.progress.state !== "PENDING" && d.progress.state !== "READY")) continue;
    ctx.table.transition(d, "upstream_failed");
    ctx.journal.touch(d);
    stack.push(...d.downstream);
  }
}

/** What campaignStateOf reads of a campaign. */
export type CampaignView = Pick<LiveCampaign, "counts" | "taskCounts" | "state" | "spec" | "tasks" | "expanded" | "expansionError">;

/**
 * A campaign's state from its quantum counts, except that a deferred task that
 * can be expanded now keeps it open (it has quanta still to come), and one
 * that could not be expanded makes it FAILED.
 */
export function campaignStateOf(c: CampaignView): CampaignState {
  const next = campaignStateFor(c.counts, c.state);
  if (next !== "SUCCEEDED" && next !== "FAILED") return next;
  if (c.expansionError !== "") return "FAILED";
  if (c.tasks.every((t) => c.expanded.includes(t))) return next;
  // Unexpanded tasks behind a failure never get quanta; those whose turn has come do.
  if (next === "SUCCEEDED" || tasksToExpand(c.spec, new Set(c.expanded), (t) => taskDone(c, t)).length > 0) return c.state === "PAUSED" ? "PAUSED" : "RUNNING";
  return next;
}

export function updateCampaignState(ctx: Pick<ResultContext, "journal" | "log">, c: LiveCampaign): void {
  const next = campaignStateOf(c);
  if (next === c.state) return;
  c.state = next;
  if (next === "SUCCEEDED" || next === "FAILED") c.finishedMs = Date.now();
  ctx.log.info({ campaign: c.name, state: next }, "campaign state");
  ctx.journal.touchCampaign(c.name);
}

/** Every quantum of a task is done (a task with no quanta is). */
export function taskDone(c: Pick<LiveCampaign, "taskCounts">, task: string): boolean {
  const counts = c.taskCounts.get(task);
  if (!counts) return true;
  return Object.entries(counts).every(([state, n]) => n === 0 || isDone(state as QuantumState));
}
