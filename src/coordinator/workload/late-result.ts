// A result that arrives after its lease expired (the agent was cut off, or
// the coordinator could not hear it) is taken if nobody else holds the
// quantum: it is READY again and its last attempt is that lease, counted
// `lost`. The kill is taken back and the quantum is RUNNING under that lease
// again, so the result is handled as if it had come in time. A heartbeat
// naming such a lease (the agent is still running it) reopens it the same way.
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { ProgressJournal } from "./progress-journal.js";
import { countAttempt } from "./attempt-figures.js";
import { accountAttempt, rseSites } from "./accounting.js";

/** Whether `leaseId` is the quantum's last attempt, held by this agent, declared lost and not leased again. */
export function isLateLease(c: LiveCampaign, row: number, agentId: string, leaseId: string): boolean {
  if (c.rows.state(row) !== "READY") return false;
  const run = c.rows.run(row);
  const last = run?.attempts[run.attempts.length - 1];
  return !run?.lease && last !== undefined && last.leaseId === leaseId && last.agent === agentId && last.outcome === "lost";
}

/**
 * Puts the quantum back under the late result's lease (its kill uncounted),
 * journaling the row and the campaign's figures; the caller then finishes the attempt.
 */
export function reopenLease(ctx: { table: CampaignTable; journal: Pick<ProgressJournal, "touch" | "touchCampaign"> }, c: LiveCampaign, row: number, agentId: string, leaseId: string, deadlineMs: number): void {
  const { table, journal } = ctx;
  c.rows.uncountKill(row);
  if (c.kills > 0) c.kills--;
  table.transition(c, row, "leased");
  c.rows.setLease(row, { id: leaseId, agent: agentId, deadlineMs });
  const run = c.rows.runOf(row);
  const last = run.attempts[run.attempts.length - 1]!;
  // It was not lost after all: its end is counted when its result comes.
  countAttempt(c.attemptFigures, last, "lost", 0, -1);
  const earlier = run.attempts.slice(0, -1);
  accountAttempt(c.accounting, { task: c.rows.task(row), attempt: last, outcome: "lost", provenanceJson: "", outputs: [], earlier }, rseSites(table.replicas), -1);
  Object.assign(last, { outcome: "", exitCode: 0, message: "", endMs: 0 });
  // Stored together: a restart in between would count the attempt both lost and running.
  journal.touch(c, row);
  journal.touchCampaign(c.name);
}
