// How many pilot jobs to keep queued (Harvester's "nQueue"): enough for the
// ready work that the site's agents and the pilots already on their way will
// not take, within the maximum, and none when there is no work.

export interface FactoryView {
  /** READY quanta a pilot could run at the site, and their cores. */
  readyQuanta: number;
  readyCores: number;
  /** Agents connected at the site, and their idle cores. */
  agents: number;
  idleCores: number;
  /** The factory's jobs: queued (oldest first) and running. */
  pending: string[];
  running: number;
}

export interface FactoryLimits {
  maxPilots: number;
  /** Cores of one pilot. */
  cores: number;
}

export interface Decision {
  submit: number;
  /** Queued jobs no longer needed, the newest first. */
  cancel: string[];
  /** Queued jobs wanted after this turn. */
  wantPending: number;
}

export function decide(view: FactoryView, limits: FactoryLimits): Decision {
  // Running jobs whose agents have not said hello yet bring their cores soon.
  const starting = Math.max(0, view.running - view.agents);
  const uncovered = view.readyQuanta === 0 ? 0 : Math.max(0, view.readyCores - view.idleCores - starting * limits.cores);
  const room = Math.max(0, limits.maxPilots - view.running);
  const wantPending = Math.min(room, Math.ceil(uncovered / limits.cores));
  const have = view.pending.length;
  if (have < wantPending) return { submit: wantPending - have, cancel: [], wantPending };
  return { submit: 0, cancel: view.pending.slice(wantPending).reverse(), wantPending };
}
