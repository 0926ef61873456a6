// Which ready quanta an agent gets: campaigns by priority band (higher first,
// strictly); within a band by weighted fair share — the campaign running the
// fewest quanta per unit of `share` goes next, ties by submission; within a
// campaign by locality (ready-queue.ts: the agent's cache, its site, then
// rows local nowhere, then rows that waited out their locality delay),
// deeper critical path first. Only quanta that fit the agent's free cores,
// memory and disk, its site and its node kind, and (for a pilot) whose time
// limit ends before the pilot must leave. A campaign with nothing it
// may give this agent now is skipped for the next one (delay scheduling).
import type { CampaignTable, LiveCampaign, QuantumRef } from "./campaign-table.js";
import { LOCALITY_DELAY_MS } from "../../common/settings/defaults.js";

export interface AgentSlot {
  id: string;
  site: string;
  kind: string; // hpc | spot | static
  freeCores: number;
  freeMemoryMB: number;
  freeDiskMB: number;
  /** A pilot's end (ms since the epoch): it gets no quantum whose time limit would outlast it. */
  leaveByMs?: number;
}

export interface SchedulingOptions {
  /** How long a quantum waits for an agent at its data's site (a campaign's `localityWait` overrides it). */
  localityDelayMs: number;
  /** Sites with a connected agent: a quantum whose data sits only where no agent is does not wait. */
  activeSites: Iterable<string>;
}

/** How many quanta one decision may hand out, to keep each mailbox turn short. */
const MAX_PER_DECISION = 64;

export const DEFAULT_LOCALITY_DELAY_MS = LOCALITY_DELAY_MS;

/** Campaigns that may get work, highest priority band first, then by submission. */
export function campaignOrder(campaigns: Iterable<LiveCampaign>): LiveCampaign[] {
  return [...campaigns]
    .filter((c) => c.state === "RUNNING" && c.ready.size > 0)
    .sort((a, b) => b.priority - a.priority || a.createdMs - b.createdMs);
}

interface Cursor {
  campaign: LiveCampaign;
  taken: Set<number>;
  /** Sites with a connected agent that the campaign may use. */
  activeSites: number;
  /** Quanta running plus those handed out in this decision, per unit of share. */
  load: number;
}

interface Slot {
  cores: number;
  memory: number;
  disk: number;
}

export function selectQuanta(table: CampaignTable, agent: AgentSlot, nowMs: number, opts: Partial<SchedulingOptions> = {}): QuantumRef[] {
  const slot: Slot = { cores: agent.freeCores, memory: agent.freeMemoryMB, disk: agent.freeDiskMB };
  const picked: QuantumRef[] = [];
  const replicas = table.replicas;
  const site = replicas.site(agent.site);
  let activeSites = 0;
  for (const s of opts.activeSites ?? [agent.site]) {
    const n = replicas.site(s);
    if (n !== undefined) activeSites |= 1 << n;
  }
  const eligible = campaignOrder(table.campaigns.values()).filter((c) => c.spec.sites.allow?.includes(agent.site) ?? true);
  for (let i = 0; i < eligible.length; ) {
    const band = eligible.filter((c) => c.priority === eligible[i]!.priority);
    i += band.length;
    // A site the campaign may not use has no agent for it: its quanta do not wait for one there.
    const cursors: Cursor[] = band.map((c) => ({ campaign: c, taken: new Set(), activeSites: activeSites & allowedSites(table, c), load: c.counts.RUNNING / c.share }));
    while (cursors.length > 0) {
      if (slot.cores <= 0 || picked.length >= MAX_PER_DECISION) return picked;
      // Stable: among equal loads the earlier-submitted campaign (earlier in `cursors`) wins.
      let next = 0;
      for (let k = 1; k < cursors.length; k++) if (cursors[k]!.load < cursors[next]!.load) next = k;
      const cursor = cursors[next]!;
      const c = cursor.campaign;
      const row = c.ready.pick({
        agent: agent.id,
        site,
        nowMs,
        delayMs: c.spec.localityWait !== undefined ? c.spec.localityWait * 1000 : (opts.localityDelayMs ?? DEFAULT_LOCALITY_DELAY_MS),
        activeSites: cursor.activeSites,
        taken: cursor.taken,
        fits: (r) => fits(c, r, agent, slot, nowMs),
      });
      if (row === undefined) {
        cursors.splice(next, 1);
        continue;
      }
      take(c, row, slot);
      cursor.taken.add(row);
      picked.push({ c, row });
      cursor.load += 1 / c.share;
    }
  }
  return picked;
}

/** The campaign's allowed sites as a site mask (all bits when it allows every site). */
function allowedSites(table: CampaignTable, c: LiveCampaign): number {
  const allow = c.spec.sites.allow;
  if (!allow) return ~0;
  let mask = 0;
  for (const s of allow) {
    const n = table.replicas.site(s);
    if (n !== undefined) mask |= 1 << n;
  }
  return mask;
}

/** The quantum may start now on this agent within what is left of its slot. */
function fits(c: LiveCampaign, row: number, agent: AgentSlot, slot: Slot, nowMs: number): boolean {
  const rows = c.rows;
  if (rows.readyAtMs(row) > nowMs) return false;
  const task = c.taskByName.get(rows.task(row));
  if (!task) return false;
  if (agent.kind === "spot" && !task.preemptible) return false;
  if (agent.leaveByMs !== undefined && nowMs + task.resources.timeLimit * 1000 > agent.leaveByMs) return false;
  return task.resources.cores <= slot.cores && rows.memoryMB(row) <= slot.memory && task.resources.diskMB <= slot.disk;
}

function take(c: LiveCampaign, row: number, slot: Slot): void {
  const task = c.taskByName.get(c.rows.task(row))!;
  slot.cores -= task.resources.cores;
  slot.memory -= c.rows.memoryMB(row);
  slot.disk -= task.resources.diskMB;
}
