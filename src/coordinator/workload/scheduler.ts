// Which ready quanta an agent gets: campaigns by priority band (higher first,
// strictly); within a band by weighted fair share — the campaign running the
// fewest quanta per unit of `share` goes next, ties by submission; within a
// campaign in the order quanta became ready. Only quanta that fit the agent's
// free slot, site and node kind.
import type { CampaignTable, LiveCampaign, QuantumRef } from "./campaign-table.js";

export interface AgentSlot {
  id: string;
  site: string;
  kind: string; // hpc | spot | static
  freeCores: number;
  freeMemoryMB: number;
}

/** How many quanta one decision may hand out, to keep each mailbox turn short. */
const MAX_PER_DECISION = 64;

/** Campaigns that may get work, highest priority band first, then by submission. */
export function campaignOrder(campaigns: Iterable<LiveCampaign>): LiveCampaign[] {
  return [...campaigns]
    .filter((c) => c.state === "RUNNING" && c.ready.size > 0)
    .sort((a, b) => b.priority - a.priority || a.createdMs - b.createdMs);
}

interface Cursor {
  campaign: LiveCampaign;
  ready: Iterator<number>;
  /** Quanta running plus those handed out in this decision, per unit of share. */
  load: number;
}

export function selectQuanta(table: CampaignTable, agent: AgentSlot, nowMs: number): QuantumRef[] {
  const slot = { cores: agent.freeCores, memory: agent.freeMemoryMB };
  const picked: QuantumRef[] = [];
  const eligible = campaignOrder(table.campaigns.values()).filter((c) => c.spec.sites.allow?.includes(agent.site) ?? true);
  for (let i = 0; i < eligible.length; ) {
    const band = eligible.filter((c) => c.priority === eligible[i]!.priority);
    i += band.length;
    const cursors: Cursor[] = band.map((c) => ({ campaign: c, ready: c.ready.values(), load: c.counts.RUNNING / c.share }));
    while (cursors.length > 0) {
      if (slot.cores <= 0 || picked.length >= MAX_PER_DECISION) return picked;
      // Stable: among equal loads the earlier-submitted campaign (earlier in `cursors`) wins.
      let next = 0;
      for (let k = 1; k < cursors.length; k++) if (cursors[k]!.load < cursors[next]!.load) next = k;
      const cursor = cursors[next]!;
      const row = nextFitting(cursor, agent, slot, nowMs);
      if (row === undefined) {
        cursors.splice(next, 1);
        continue;
      }
      picked.push({ c: cursor.campaign, row });
      cursor.load += 1 / cursor.campaign.share;
    }
  }
  return picked;
}

/** The campaign's next ready quantum that fits what is left of the slot; takes its resources. */
function nextFitting(cursor: Cursor, agent: AgentSlot, slot: { cores: number; memory: number }, nowMs: number): number | undefined {
  const c = cursor.campaign;
  const rows = c.rows;
  for (let r = cursor.ready.next(); !r.done; r = cursor.ready.next()) {
    const row = r.value;
    if (rows.readyAtMs(row) > nowMs) continue;
    const task = c.taskByName.get(rows.task(row));
    if (!task) continue;
    if (agent.kind === "spot" && !task.preemptible) continue;
    const memory = rows.memoryMB(row);
    if (task.resources.cores > slot.cores || memory > slot.memory) continue;
    slot.cores -= task.resources.cores;
    slot.memory -= memory;
    return row;
  }
  return undefined;
}
