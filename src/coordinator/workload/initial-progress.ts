// A quantum's first progress follows from its links and its campaign's spec,
// so it is not stored: Redis holds a progress record only for rows whose
// progress differs from it (SKIPPED by reuse, READY on reused makers, and
// every change after submit, through the journal). Loading gives the other
// rows their first state with the same rule, so what is saved and what is
// loaded agree.
import { randomBytes } from "node:crypto";
import { deferredClosure, type CampaignSpec } from "../campaign/index.js";
import type { CampaignRecord, QuantumProgress } from "./model.js";
import type { QuantumRows } from "./quantum-rows.js";

/** The progress records to store for rows from..to-1: those not in their first state. */
export function progressToStore(rows: QuantumRows, from: number, to = rows.length): Map<string, QuantumProgress> {
  const out = new Map<string, QuantumProgress>();
  for (let row = from; row < to; row++) if (!rows.isInitial(row)) out.set(rows.id(row), rows.progress(row));
  return out;
}

/** Freshly appended rows (PENDING) from..to-1 in their first state: READY with no makers, else PENDING. */
export function setFirstStates(rows: QuantumRows, from: number, to = rows.length): void {
  for (let row = from; row < to; row++) if (rows.upstream(row).length === 0) rows.apply(row, "inputs_ready");
}

/** A new campaign's record as submit stores it: RUNNING, its tasks, those not deferred already expanded. */
export function newCampaignRecord(spec: CampaignSpec, nowMs: number): CampaignRecord {
  const later = deferredClosure(spec);
  return {
    name: spec.name,
    state: "RUNNING",
    priority: spec.priority,
    share: spec.share,
    createdMs: nowMs,
    finishedMs: 0,
    specJson: JSON.stringify(spec),
    tasks: spec.tasks.map((t) => t.name),
    expanded: spec.tasks.filter((t) => !later.has(t.name)).map((t) => t.name),
    expansionError: "",
    generation: `${nowMs.toString(36)}-${randomBytes(4).toString("hex")}`,
  };
}
