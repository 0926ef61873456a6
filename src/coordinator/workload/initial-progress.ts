// A quantum's first progress follows from its definition and its campaign's
// spec, so it is not stored: Redis holds a progress record only for quanta
// whose progress differs from it (SKIPPED by reuse, READY on reused makers,
// and every change after submit, through the journal). Loading fills in the
// rest with the same function, so what is saved and what is loaded agree.
import type { CampaignSpec } from "../campaign/spec.js";
import { deferredClosure } from "../campaign/deferred.js";
import type { CampaignRecord, ProducedReplica, Quantum, QuantumDefinition, QuantumProgress } from "./model.js";

/**
 * What a quantum that has produced nothing holds: one shared empty list (32
 * bytes a quantum at a million quanta). `produced` is only ever replaced, never
 * pushed to; frozen, so a change in that would fail loudly.
 */
const NOTHING_PRODUCED = Object.freeze([]) as readonly ProducedReplica[] as ProducedReplica[];

/** Memory a task's quanta start with (MB), by task name. */
export function taskMemory(spec: Pick<CampaignSpec, "tasks">): Map<string, number> {
  return new Map(spec.tasks.map((t) => [t.name, t.resources.memoryMB]));
}

/** Memory of a task's first attempt; 1024 MB for a task the spec does not name. */
export function memoryOf(memory: ReadonlyMap<string, number>, task: string): number {
  return memory.get(task) ?? 1024;
}

/** READY with no makers, else PENDING; nothing attempted. */
export function initialProgress(q: Pick<QuantumDefinition, "upstream">, memoryMB: number): QuantumProgress {
  return {
    state: q.upstream.length === 0 ? "READY" : "PENDING",
    attempts: [],
    failures: 0,
    kills: 0,
    infraErrors: 0,
    memoryMB,
    readyAtMs: 0,
    produced: NOTHING_PRODUCED,
  };
}

/** Whether the progress is what initialProgress would give the quantum. */
export function isInitial(q: Pick<Quantum, "upstream" | "progress">, memoryMB: number): boolean {
  const p = q.progress;
  return (
    p.state === (q.upstream.length === 0 ? "READY" : "PENDING") &&
    p.attempts.length === 0 &&
    p.failures === 0 &&
    p.kills === 0 &&
    p.infraErrors === 0 &&
    p.memoryMB === memoryMB &&
    p.readyAtMs === 0 &&
    p.lease === undefined &&
    p.produced.length === 0
  );
}

/** The progress records to store with freshly built quanta: those not in their initial state. */
export function progressToStore(spec: Pick<CampaignSpec, "tasks">, quanta: readonly Quantum[]): Map<string, QuantumProgress> {
  const memory = taskMemory(spec);
  const out = new Map<string, QuantumProgress>();
  for (const q of quanta) if (!isInitial(q, memoryOf(memory, q.task))) out.set(q.id, q.progress);
  return out;
}

/** A new campaign's record as submit stores it: RUNNING, its tasks, those not deferred already expanded. */
export function newCampaignRecord(spec: CampaignSpec, quanta: readonly Quantum[], nowMs: number): CampaignRecord {
  const later = deferredClosure(spec);
  return {
    name: spec.name,
    state: "RUNNING",
    priority: spec.priority,
    share: spec.share,
    createdMs: nowMs,
    finishedMs: 0,
    specJson: JSON.stringify(spec),
    quantumIds: quanta.map((q) => q.id),
    tasks: spec.tasks.map((t) => t.name),
    expanded: spec.tasks.filter((t) => !later.has(t.name)).map((t) => t.name),
    expansionError: "",
  };
}
