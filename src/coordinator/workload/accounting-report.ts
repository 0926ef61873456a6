// A campaign's accounting as `orrery report` shows it: the stored figures per
// task and site, plus the attempts running now, and their totals.
import type { LiveCampaign } from "./campaign-table.js";
import type { CampaignState } from "./campaign-state.js";
import { accountRunning, totalsOf, type SiteAccount } from "./accounting.js";

export interface AccountingCell {
  task: string;
  site: string;
  figures: SiteAccount;
}

export interface CampaignReport {
  campaign: string;
  state: CampaignState;
  /** Tasks in pipeline order, sites by name; only pairs with an attempt. */
  cells: AccountingCell[];
  /** Every cell summed (peak memory: the largest). */
  totals: SiteAccount;
  /** Distinct quanta with an attempt anywhere (totals.quanta counts a quantum once per site it ran at). */
  distinctQuanta: number;
}

export function reportOf(c: LiveCampaign): CampaignReport {
  const acc = structuredClone(c.accounting);
  for (const row of c.rows.leased) {
    const run = c.rows.run(row);
    if (run) accountRunning(acc, c.rows.task(row), run.attempts);
  }
  const tasks = [...c.tasks, ...Object.keys(acc.tasks).filter((t) => !c.tasks.includes(t))];
  const cells = tasks.flatMap((task) =>
    Object.entries(acc.tasks[task] ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([site, figures]) => ({ task, site, figures })),
  );
  return { campaign: c.name, state: c.state, cells, totals: totalsOf(acc), distinctQuanta: acc.quanta };
}
