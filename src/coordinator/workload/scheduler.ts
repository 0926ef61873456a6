// Which ready quanta an agent gets: campaigns by priority band (higher first,
// strictly), then by submission; within a campaign in the order quanta became
// ready. Only quanta that fit the agent's free slot, site and node kind.
import type { CampaignTable, LiveCampaign } from "./campaign-table.js";
import type { Quantum } from "./model.js";

export interface AgentSlot {
  id: string;
  site: string;
  kind: string; // hpc | spot | static
  freeCores: number;
  freeMemoryMB: number;
}

/** How many quanta one decision may hand out, to keep each mailbox turn short. */
const MAX_PER_DECISION = 64;

export function campaignOrder(campaigns: Iterable<LiveCampaign>): LiveCampaign[] {
  return [...campaigns]
    .filter((c) => c.state === "RUNNING" && c.ready.size > 0)
    .sort((a, b) => b.priority - a.priority || a.createdMs - b.createdMs);
}

export function selectQuanta(table: CampaignTable, agent: AgentSlot, nowMs: number): Quantum[] {
  let cores = agent.freeCores;
  let memory = agent.freeMemoryMB;
  const picked: Quantum[] = [];
  for (const c of campaignOrder(table.campaigns.values())) {
    const allow = c.spec.sites.allow;
    if (allow !== undefined && !allow.includes(agent.site)) continue;
    for (const id of c.ready) {
      if (cores <= 0 || picked.length >= MAX_PER_DECISION) return picked;
      const q = table.quanta.get(id);
      if (!q || q.progress.readyAtMs > nowMs) continue;
      const task = c.taskByName.get(q.task);
      if (!task) continue;
      if (agent.kind === "spot" && !task.preemptible) continue;
      if (task.resources.cores > cores || q.progress.memoryMB > memory) continue;
      cores -= task.resources.cores;
      memory -= q.progress.memoryMB;
      picked.push(q);
    }
  }
  return picked;
}
