// What an operator's pause, resume, cancel and priority change do to a live
// campaign. Each runs inside the manager's mailbox: it changes the in-memory
// indexes through the transition tables and marks what changed in the
// journal; the manager flushes it to Redis before it answers.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { ProgressJournal } from "./progress-journal.js";
import { isLiveCampaign, nextCampaignState, type CampaignEvent } from "./campaign-state.js";
import { canTransition } from "./quantum-state.js";
import { settleCampaign } from "./attempt-results.js";
import { closeTicket } from "./tickets.js";
import { observeEnd, type WorkloadObserver } from "./workload-observer.js";
import { accountAttempt, rseSites } from "./accounting.js";

export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 1000;

/** A lease a cancel took back: the agent holding it is told to stop the payload. */
export interface CancelledLease {
  leaseId: string;
  agent: string;
}

export interface ControlContext {
  table: CampaignTable;
  /** Marks what changed; the manager flushes it before answering. */
  journal: Pick<ProgressJournal, "touch" | "touchCampaign" | "ticketOpened" | "ticketClosed" | "afterPersist">;
  log: Logger;
  /** Told of attempts a cancel ended, once stored (metrics). */
  observer?: WorkloadObserver | undefined;
}

export function liveCampaign(table: CampaignTable, name: string): LiveCampaign {
  const c = table.campaigns.get(name);
  if (!c) throw new OrreryError(ErrorCode.NOT_FOUND, `no campaign named ${name}`, { hint: "see `orrery status` for the campaigns there are" });
  return c;
}

function applyEvent(ctx: ControlContext, c: LiveCampaign, event: CampaignEvent): void {
  const next = nextCampaignState(c.state, event, c.name);
  if (next === c.state) return;
  ctx.log.info({ campaign: c.name, from: c.state, state: next, event }, "campaign state");
  c.state = next;
  ctx.journal.touchCampaign(c.name);
}

/** Nothing new starts (the scheduler serves RUNNING campaigns only); what runs may finish and is recorded. */
export function pauseCampaign(ctx: ControlContext, name: string): LiveCampaign {
  const c = liveCampaign(ctx.table, name);
  applyEvent(ctx, c, "pause");
  return c;
}

/** Schedulable again; a campaign whose quanta all ended while paused ends now. */
export function resumeCampaign(ctx: ControlContext, name: string): LiveCampaign {
  const c = liveCampaign(ctx.table, name);
  applyEvent(ctx, c, "resume");
  if (settleCampaign(ctx.log, c)) ctx.journal.touchCampaign(c.name);
  return c;
}

/**
 * Every quantum that is PENDING, READY, RUNNING, BLOCKED or FAILED becomes
 * CANCELLED; the leases of those that were RUNNING are returned so their
 * agents can be told to stop. Results that come later for them are ignored:
 * they name a lease the quantum no longer holds.
 */
export function cancelCampaign(ctx: ControlContext, name: string, nowMs: number): { campaign: LiveCampaign; leases: CancelledLease[] } {
  const c = liveCampaign(ctx.table, name);
  // Refused before any quantum changes.
  nextCampaignState(c.state, "cancel", c.name);
  const leases: CancelledLease[] = [];
  const rows = c.rows;
  for (let row = 0; row < rows.length; row++) {
    const state = rows.state(row);
    if (!canTransition(state, "cancel")) continue;
    const lease = rows.run(row)?.lease;
    if (state === "RUNNING" && lease) {
      leases.push({ leaseId: lease.id, agent: lease.agent });
      const attempts = rows.runOf(row).attempts;
      const attempt = attempts[attempts.length - 1];
      if (attempt && attempt.outcome === "") {
        Object.assign(attempt, { outcome: "cancelled", exitCode: -1, message: "cancelled by the operator", endMs: nowMs });
        observeEnd(ctx, c, row, attempt, "cancelled", "");
        // Counted like any ended attempt, so `report` adds up to the attempts `quanta` lists.
        accountAttempt(c.accounting, { task: rows.task(row), attempt, outcome: "cancelled", provenanceJson: "", outputs: [], earlier: attempts.slice(0, -1) }, rseSites(ctx.table.replicas));
        ctx.journal.touchCampaign(c.name);
      }
      rows.setLease(row, undefined);
    }
    ctx.table.transition(c, row, "cancel");
    ctx.journal.touch(c, row);
    // Nothing is left for the operator to do about a cancelled quantum (FAILED, or retried and not yet succeeded).
    if (c.tickets.size > 0) closeTicket(ctx.journal, c, row, nowMs);
  }
  if (c.state !== "CANCELLED") c.finishedMs = nowMs;
  applyEvent(ctx, c, "cancel");
  return { campaign: c, leases };
}

/** The priority the next scheduling decision uses; only a live campaign's can change. */
export function setCampaignPriority(ctx: ControlContext, name: string, priority: number): LiveCampaign {
  if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `priority ${priority}: expected a whole number from ${MIN_PRIORITY} to ${MAX_PRIORITY}`, {
      hint: `give a priority in ${MIN_PRIORITY}..${MAX_PRIORITY} (higher runs first)`,
    });
  }
  const c = liveCampaign(ctx.table, name);
  if (!isLiveCampaign(c.state)) {
    throw new OrreryError(ErrorCode.ILLEGAL_TRANSITION, `campaign ${name} is ${c.state}; only RUNNING or PAUSED campaigns can change priority`, {
      hint: `see its state with \`orrery status ${name}\``,
    });
  }
  if (c.priority !== priority) {
    ctx.log.info({ campaign: name, from: c.priority, priority }, "campaign priority");
    c.priority = priority;
    ctx.journal.touchCampaign(name);
  }
  return c;
}
