// What the manager does with one result an agent reports: refused when
// another agent holds the lease, taken when its lease is current (or is the
// quantum's last one, declared lost and not leased again: late-result.ts),
// otherwise ignored. A success that ends a quantum some earlier attempt of
// which may have registered outputs, and a success that comes after another
// attempt's was taken, name the quantum to `settle` (output-settler.ts).
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { isNoopCommand } from "../../common/builtin-commands.js";
import { finishAttempt, type AttemptReport, type ResultContext } from "./attempt-results.js";
import { isLateLease, reopenLease } from "./late-result.js";
import type { ProducedReplica } from "./model.js";

export interface IntakeContext extends ResultContext {
  leaseTtlMs: number;
  /** Other replicas of the quantum's outputs than `kept` (when known; else read from its stored progress) are to go. */
  settle?: (campaign: string, quantum: string, kept: readonly ProducedReplica[] | undefined) => void;
}

/** Applies one result in memory (its changes go to the journal); throws PERMISSION_DENIED for another agent's lease. */
export function applyReport(ctx: IntakeContext, agentId: string, r: AttemptReport): "taken" | "ignored" {
  const ref = ctx.table.find(r.quantumId);
  const lease = ref?.c.rows.run(ref.row)?.lease;
  if (lease?.id === r.leaseId && lease.agent !== agentId) {
    throw new OrreryError(ErrorCode.PERMISSION_DENIED, `result.lease_id: lease ${r.leaseId} is held by another agent`);
  }
  if (ref && !lease && isLateLease(ref.c, ref.row, agentId, r.leaseId)) {
    ctx.log.warn({ agent: agentId, lease: r.leaseId, outcome: r.outcome }, "late result of a lease declared lost and not leased again; taken");
    reopenLease(ctx, ref.c, ref.row, agentId, r.leaseId, Date.now() + ctx.leaseTtlMs);
  }
  const current = ref?.c.rows.run(ref.row)?.lease;
  if (!ref || current?.id !== r.leaseId || ref.c.rows.state(ref.row) !== "RUNNING") {
    ctx.log.info({ agent: agentId, lease: r.leaseId }, "result for a lease no longer current; ignored");
    // Its outputs are registered (an agent registers before it reports): not the quantum's if another attempt's were taken.
    if (ref && r.outcome === "succeeded" && r.outputs.length > 0 && ref.c.rows.state(ref.row) === "SUCCEEDED") ctx.settle?.(ref.c.name, r.quantumId, undefined);
    return "ignored";
  }
  const { c, row } = ref;
  const earlier = c.rows.runOf(row).attempts.length > 1;
  // A built-in ran nothing: it has no logs to keep.
  const logs = isNoopCommand(c.taskByName.get(c.rows.task(row))?.command ?? []) ? undefined : { stdout: r.stdout, stderr: r.stderr };
  ctx.journal.attemptEnded({ quantum: r.quantumId, attempt: r.attempt, ...(logs ? { logs } : {}), provenance: withIdentity(r.provenanceJson, c.rows.identity(row)) });
  finishAttempt(ctx, c, row, r);
  if (earlier && r.outcome === "succeeded" && r.outputs.length > 0) ctx.settle?.(c.name, r.quantumId, r.outputs);
  return "taken";
}

/** The identity goes into the provenance record: the coordinator knows it, the agent does not. */
function withIdentity(provenanceJson: string, identity: string): string {
  try {
    const record: unknown = JSON.parse(provenanceJson);
    if (record !== null && typeof record === "object" && !Array.isArray(record)) return JSON.stringify({ ...record, identity });
  } catch {
    // Not JSON: kept as the agent sent it.
  }
  return provenanceJson;
}
