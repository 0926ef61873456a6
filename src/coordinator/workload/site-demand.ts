// How much work a site could run now, as a pilot factory sees it (Harvester's
// "nQueue" question): the READY quanta of running campaigns that allow the
// site and that one pilot of the given size could run within its walltime.
// Counted per task from the campaign's state counts: no scan of the rows.
import type { CampaignTable } from "./campaign-table.js";

export interface PilotShape {
  site: string;
  cores: number;
  memoryMB: number;
  /** How long a pilot lives; a quantum's time limit must fit in what is left after its start-up. */
  walltimeS: number;
}

export interface SiteDemand {
  readyQuanta: number;
  /** Cores those quanta need together. */
  readyCores: number;
}

export function siteDemand(table: CampaignTable, pilot: PilotShape): SiteDemand {
  const demand: SiteDemand = { readyQuanta: 0, readyCores: 0 };
  for (const c of table.campaigns.values()) {
    if (c.state !== "RUNNING" || !(c.spec.sites.allow?.includes(pilot.site) ?? true)) continue;
    for (const task of c.spec.tasks) {
      const ready = c.taskCounts.get(task.name)?.READY ?? 0;
      if (ready === 0) continue;
      const r = task.resources;
      if (r.cores > pilot.cores || r.memoryMB > pilot.memoryMB || r.timeLimit > pilot.walltimeS) continue;
      demand.readyQuanta += ready;
      demand.readyCores += ready * r.cores;
    }
  }
  return demand;
}
