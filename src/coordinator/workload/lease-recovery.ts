// Leases when the store fails. Leases are decided in memory and stored
// before they go out; when the store fails, the turn's leases are taken back: their quanta are READY again as
// they were (same place in the ready queue, no attempt, no lease), nothing
// is sent, and the rows stay in the journal so the next flush writes them as
// they are now (a transaction whose reply was lost may have stored them).
// When an outage of the store ends, lease deadlines are pushed back by its
// length: agents are not declared lost for the coordinator's outage.
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";

/** What a lease changed, to take it back. */
export interface LeaseMade {
  c: LiveCampaign;
  row: number;
  /** When the row had become ready (its place among equally ranked rows). */
  readySince: number;
  /** Whether the row had a run record before this lease (earlier attempts). */
  hadRun: boolean;
}

/** Takes back leases made in memory whose save failed. */
export function undoLeases(table: CampaignTable, made: readonly LeaseMade[]): void {
  const undone = made.filter((m) => m.c.rows.state(m.row) === "RUNNING");
  for (const { c, row, hadRun } of undone) {
    c.rows.runOf(row).attempts.pop();
    if (hadRun) c.rows.setLease(row, undefined);
    else c.rows.forgetRun(row);
    table.transition(c, row, "retry");
  }
  // transition() queued them as ready now; they go back in their order, with the times they had.
  for (const { c, row } of undone) c.ready.delete(row);
  for (const { c, row, readySince } of undone) c.ready.add(row, readySince);
}

/** Pushes every lease's deadline back by the outage, and to at least one TTL from now; returns how many leases there are. */
export function pushBackDeadlines(table: CampaignTable, outageMs: number, nowMs: number, ttlMs: number): number {
  let leases = 0;
  for (const c of table.campaigns.values()) {
    for (const row of c.rows.leased) {
      const lease = c.rows.run(row)?.lease;
      if (!lease) continue;
      lease.deadlineMs = Math.max(lease.deadlineMs + outageMs, nowMs + ttlMs);
      leases++;
    }
  }
  return leases;
}
