import type { Quantum } from "./model.js";
import type { QuantumState } from "./quantum-state.js";

/** Done for downstream readiness and campaign success. */
export function isDone(state: QuantumState | undefined): boolean {
  return state === "SUCCEEDED" || state === "SKIPPED";
}

/** Points the consumer's inputs made by `producer` at the files it produced (idempotent). */
export function fillInputs(consumer: Quantum, producer: Quantum): void {
  for (const input of consumer.inputs) {
    if (input.producer !== producer.id) continue;
    // A dataset type has one maker task and one output role in it.
    const role = producer.outputs.find((o) => o.datasetType === input.datasetType)?.role;
    const made = producer.progress.produced.filter((p) => p.role === role);
    const first = made[0];
    if (!first) continue;
    Object.assign(input, { did: first.did, bytes: first.bytes, adler32: first.adler32, md5: first.md5, rses: [...new Set(made.map((m) => m.rse))] });
  }
}

/**
 * First states of freshly built quanta once some are SKIPPED: a quantum whose
 * makers are all done is READY with their files as inputs, else PENDING.
 * `lookup` finds makers among these quanta and those the campaign had before.
 */
export function settleStates(quanta: readonly Quantum[], reused: ReadonlyMap<string, Quantum["progress"]["produced"]>, lookup: (id: string) => Quantum | undefined): void {
  for (const q of quanta) {
    const produced = reused.get(q.id);
    if (produced) Object.assign(q.progress, { state: "SKIPPED", produced });
  }
  // Quanta come in graph order, makers first.
  for (const q of quanta) {
    if (q.progress.state === "SKIPPED") continue;
    let ready = true;
    for (const id of q.upstream) {
      const u = lookup(id);
      if (u && isDone(u.progress.state)) fillInputs(q, u);
      else ready = false;
    }
    q.progress.state = ready ? "READY" : "PENDING";
  }
}
