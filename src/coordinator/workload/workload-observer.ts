// What the workload tells an observer (the coordinator's metrics): each
// attempt's end once it is stored, and the in-memory indexes to read at
// scrape time. An observer only reads: it never changes the workload.
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { ProgressJournal } from "./progress-journal.js";

/** One ended attempt, as stored. */
export interface EndedAttempt {
  campaign: string;
  task: string;
  /** The site of the agent that ran it ("" when unknown). */
  site: string;
  /** `<quantum>#<attempt>`: a lost attempt whose agent reports after all ends twice under the same id. */
  leaseId: string;
  outcome: string;
  /** The agent's provenance record ("" for attempts the coordinator ended: lost, cancelled). */
  provenanceJson: string;
}

export interface WorkloadObserver {
  /** The manager's indexes, read synchronously at scrape time (never changed). */
  attach(table: CampaignTable): void;
  /** Called once the attempt's end is stored in Redis. */
  attemptEnded(attempt: EndedAttempt): void;
}

/** Tells the observer of an attempt's end after the journal's next successful flush. */
export function observeEnd(ctx: { journal: Pick<ProgressJournal, "afterPersist">; observer?: WorkloadObserver | undefined }, c: LiveCampaign, row: number, attempt: { leaseId: string; site: string }, outcome: string, provenanceJson: string): void {
  const observer = ctx.observer;
  if (!observer) return;
  const ended: EndedAttempt = { campaign: c.name, task: c.rows.task(row), site: attempt.site, leaseId: attempt.leaseId, outcome, provenanceJson };
  ctx.journal.afterPersist(() => observer.attemptEnded(ended));
}
