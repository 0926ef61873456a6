// An operator's `orrery retry`: FAILED quanta (all of a campaign's, or one)
// go back to READY with fresh budgets, and the BLOCKED quanta downstream of
// them back to PENDING, to become READY as their makers succeed. A FAILED
// campaign runs again. Runs inside the manager's mailbox; changes go to the
// journal, flushed before the answer. Tickets stay open until their quanta
// succeed (tickets.ts).
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { LiveCampaign } from "./campaign-table.js";
import { canCampaignTransition, nextCampaignState } from "./campaign-state.js";
import { liveCampaign, type ControlContext } from "./campaign-control.js";
import { makersDone } from "./quantum-links.js";
import type { QuantumState } from "./quantum-state.js";

export interface RetryResult {
  campaign: string;
  /** FAILED quanta put back to READY. */
  requeued: number;
  /** BLOCKED quanta put back to waiting for their inputs (PENDING, or READY when those are there). */
  unblocked: number;
  /** The campaign's state afterwards. */
  state: string;
}

/** Upstream states that keep a quantum BLOCKED: a maker that cannot succeed without another retry. */
const BLOCKING: ReadonlySet<QuantumState> = new Set(["FAILED", "BLOCKED", "CANCELLED"]);

/**
 * Requeues the campaign's FAILED quanta, or only `quantum` (which must be
 * FAILED: anything else is refused naming its state). A CANCELLED campaign is
 * refused; a PAUSED one stays paused (its quanta start once resumed).
 */
export function retryCampaign(ctx: ControlContext, name: string, quantum?: string): RetryResult {
  const c = liveCampaign(ctx.table, name);
  // Refused before any quantum changes.
  if (c.state === "CANCELLED") {
    throw new OrreryError(ErrorCode.ILLEGAL_TRANSITION, `campaign ${c.name} is CANCELLED; only RUNNING, PAUSED, SUCCEEDED or FAILED campaigns can be retried`, {
      hint: "a cancelled campaign does not run again: submit its file again to run it anew",
    });
  }
  nextCampaignState(c.state, "retry", c.name);
  const rows = quantum === undefined ? failedRows(c) : [failedRow(c, quantum)];
  for (const row of rows) {
    const counted = { failures: c.rows.failures(row), kills: c.rows.kills(row) };
    c.rows.resetBudget(row);
    // The campaign's counters are its quanta's (a restart sums them again).
    c.failures -= counted.failures;
    c.kills -= counted.kills;
    ctx.table.transition(c, row, "requeue");
    ctx.journal.touch(c, row);
  }
  const unblocked = unblock(ctx, c, rows);
  if (rows.length > 0 && canCampaignTransition(c.state, "retry")) {
    const next = nextCampaignState(c.state, "retry", c.name);
    if (next !== c.state) {
      ctx.log.info({ campaign: c.name, from: c.state, state: next, requeued: rows.length }, "campaign state");
      c.state = next;
      c.finishedMs = 0;
    }
    ctx.journal.touchCampaign(c.name);
  }
  if (rows.length > 0) ctx.log.info({ campaign: c.name, requeued: rows.length, unblocked }, "failed quanta requeued by the operator");
  return { campaign: c.name, requeued: rows.length, unblocked, state: c.state };
}

function failedRows(c: LiveCampaign): number[] {
  const out: number[] = [];
  if (c.counts.FAILED === 0) return out;
  for (let row = 0; row < c.rows.length; row++) if (c.rows.state(row) === "FAILED") out.push(row);
  return out;
}

function failedRow(c: LiveCampaign, quantum: string): number {
  const row = c.rows.rowOf(quantum);
  if (row === undefined) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `quantum: campaign ${c.name} has no quantum ${quantum}`, { hint: `list its failed quanta with \`orrery quanta ${c.name} --state FAILED\`` });
  }
  const state = c.rows.state(row);
  if (state !== "FAILED") {
    throw new OrreryError(ErrorCode.ILLEGAL_TRANSITION, `quantum ${quantum} is ${state}; only FAILED quanta can be retried`, {
      hint: `list the failed ones with \`orrery tickets --open --campaign ${c.name}\``,
    });
  }
  return row;
}

/**
 * BLOCKED quanta downstream of the requeued rows go back to PENDING when no
 * maker of theirs is still FAILED, BLOCKED or CANCELLED (one blocked by
 * another failure stays), then READY if their makers are all done already.
 */
function unblock(ctx: ControlContext, c: LiveCampaign, requeued: readonly number[]): number {
  const stack = requeued.flatMap((r) => [...c.rows.downstream(r)]);
  let n = 0;
  while (stack.length > 0) {
    const d = stack.pop()!;
    if (c.rows.state(d) !== "BLOCKED") continue;
    if (c.rows.upstream(d).some((u) => BLOCKING.has(c.rows.state(u)))) continue;
    ctx.table.transition(c, d, "requeue");
    if (makersDone(c.rows, d)) ctx.table.transition(c, d, "inputs_ready");
    ctx.journal.touch(c, d);
    n++;
    stack.push(...c.rows.downstream(d));
  }
  return n;
}
