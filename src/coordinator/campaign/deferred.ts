import type { CampaignSpec } from "./spec.js";

/** Tasks not expanded at submit: the deferred ones and every task downstream of one. */
export function deferredClosure(spec: CampaignSpec): Set<string> {
  const out = new Set<string>();
  // spec.tasks is in topological order: upstream tasks are decided first.
  for (const t of spec.tasks) if (t.deferred || t.upstream.some((u) => out.has(u))) out.add(t.name);
  return out;
}

/**
 * The not-yet-expanded tasks that can be expanded now. A deferred task waits
 * until every task it reads from is expanded and done (all its quanta
 * SUCCEEDED or SKIPPED); a task downstream of one goes along with it once
 * each of its own upstream tasks is done or goes along too.
 */
export function tasksToExpand(spec: CampaignSpec, expanded: ReadonlySet<string>, taskDone: (task: string) => boolean): string[] {
  const now = new Set<string>();
  const done = (u: string) => expanded.has(u) && taskDone(u);
  for (const t of spec.tasks) {
    if (expanded.has(t.name)) continue;
    const ready = t.deferred ? t.upstream.every(done) : t.upstream.every((u) => done(u) || now.has(u));
    if (ready) now.add(t.name);
  }
  return [...now];
}

/**
 * The campaign narrowed to the tasks expanded now, none of them deferred any
 * more: expanding it with the produced files as catalog gives their quanta.
 */
export function expansionSpec(spec: CampaignSpec, tasks: readonly string[]): CampaignSpec {
  const names = new Set(tasks);
  return {
    ...spec,
    tasks: spec.tasks
      .filter((t) => names.has(t.name))
      .map((t) => ({ ...t, deferred: false, upstream: t.upstream.filter((u) => names.has(u)) })),
  };
}

/** Dataset types the tasks expanded now read from tasks expanded before them. */
export function producedInputTypes(spec: CampaignSpec, tasks: readonly string[]): string[] {
  const now = new Set(tasks);
  const producer = new Map<string, string>();
  for (const t of spec.tasks) for (const o of Object.values(t.outputs)) producer.set(o.datasetType, t.name);
  const types = new Set<string>();
  for (const t of spec.tasks) {
    if (!now.has(t.name)) continue;
    for (const i of Object.values(t.inputs)) {
      const p = producer.get(i.datasetType);
      if (p !== undefined && !now.has(p)) types.add(i.datasetType);
    }
  }
  return [...types];
}
