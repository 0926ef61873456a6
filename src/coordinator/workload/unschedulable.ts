// Quanta that would wait forever: READY, but larger than every connected
// agent that may run them (site allowed, node kind allowed). Reported in
// `status` with the reason, so an operator sees it instead of a stall.
import type { LiveCampaign } from "./campaign-table.js";

/** What a connected agent could give a quantum at most. */
export interface AgentCapacity {
  site: string;
  kind: string;
  cores: number;
  memoryMB: number;
  diskMB: number;
}

export interface UnschedulableTask {
  task: string;
  quanta: number;
  reason: string;
}

/** Tasks of the campaign with READY quanta no connected agent can take (none when no agent is connected). */
export function unschedulableTasks(c: LiveCampaign, agents: readonly AgentCapacity[]): UnschedulableTask[] {
  if (agents.length === 0) return [];
  const out: UnschedulableTask[] = [];
  for (const task of c.spec.tasks) {
    const ready = c.taskCounts.get(task.name)?.READY ?? 0;
    if (ready === 0) continue;
    const allowed = agents.filter((a) => (c.spec.sites.allow?.includes(a.site) ?? true) && (task.preemptible || a.kind !== "spot"));
    if (allowed.length === 0) {
      const why = [c.spec.sites.allow ? `sites.allow is [${c.spec.sites.allow.join(", ")}]` : "", task.preemptible ? "" : "it is preemptible: false and only spot agents are"].filter((x) => x !== "");
      out.push({ task: task.name, quanta: ready, reason: `no connected agent may run it: ${why.join("; ")}` });
      continue;
    }
    // Memory of a READY quantum may have grown after running out of it.
    let memoryMB = task.resources.memoryMB;
    for (const row of c.rows.rowsOf(task.name)) if (c.ready.has(row)) memoryMB = Math.max(memoryMB, c.rows.memoryMB(row));
    const r = task.resources;
    if (allowed.some((a) => a.cores >= r.cores && a.memoryMB >= memoryMB && a.diskMB >= r.diskMB)) continue;
    const most = (pick: (a: AgentCapacity) => number) => Math.max(...allowed.map(pick));
    out.push({
      task: task.name,
      quanta: ready,
      reason: `needs ${r.cores} cores, ${memoryMB} MB memory, ${r.diskMB} MB disk; the largest connected agent that may run it has ${most((a) => a.cores)} cores, ${most((a) => a.memoryMB)} MB, ${most((a) => a.diskMB)} MB disk`,
    });
  }
  return out;
}
