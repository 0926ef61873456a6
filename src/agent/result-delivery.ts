// A lease's result goes to the journal, then to the coordinator. When the
// journal cannot hold it (its LMDB write failed), or could not hold the
// lease when it started, the agent cannot promise to deliver it after a
// crash: the attempt is reported as `agent_error`, an infrastructure error
// the coordinator counts as the cluster's fault and retries with its own
// budget, naming what failed, instead of going silent until the lease
// expires as `lost`. A lease run that failed on the agent itself (not the
// payload) is reported the same way.
import { create } from "@bufbuild/protobuf";
import type { Logger } from "../common/logger.js";
import { QuantumResultSchema, type Lease, type QuantumResult } from "../gen/orrery/v1/agent_link_pb.js";
import { attemptOutcomes } from "../common/wire-enums.js";
import type { Journal } from "./cache/index.js";
import { bareResult, Outcome, wireOutcome } from "./lease-outcome.js";

/** What the delivery needs of the agent: its journal and its link. */
export interface ResultSink {
  journal: Pick<Journal, "resultReady">;
  send(result: QuantumResult): Promise<unknown>;
  log: Logger;
}

const why = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The result of a lease whose run failed on the agent (not the payload's doing). */
export function failedRunResult(lease: Pick<Lease, "leaseId" | "quantumId" | "attempt">, err: unknown, startMs: number): QuantumResult {
  return create(QuantumResultSchema, bareResult(lease, Outcome.AGENT_ERROR, `agent error: the lease run failed on the agent: ${why(err)}`, startMs));
}

/** The same attempt as an agent error: its outputs are not claimed (the attempt cannot be vouched for). */
function asAgentError(result: QuantumResult, message: string): QuantumResult {
  const was = attemptOutcomes.name(result.outcome) ?? "unknown";
  return create(QuantumResultSchema, { ...result, outcome: wireOutcome(Outcome.AGENT_ERROR), outputs: [], message: `agent error: ${message} (the attempt was ${was}${result.message ? `: ${result.message}` : ""})` });
}

/**
 * Journals the result and sends it. `unjournaledLease` says why the lease
 * itself could not be journaled when it started, if it could not.
 * Resolves to what was sent.
 */
export async function deliverResult(sink: ResultSink, result: QuantumResult, unjournaledLease?: string): Promise<QuantumResult> {
  let out = result;
  if (unjournaledLease !== undefined) out = asAgentError(result, `the journal could not record the lease when it started: ${unjournaledLease}`);
  try {
    await sink.journal.resultReady(out);
  } catch (err) {
    sink.log.error({ lease: result.leaseId, err }, "journal write failed; the attempt is reported as an agent error");
    if (out === result) out = asAgentError(result, `the journal could not record the result: ${why(err)}`);
  }
  // Not journaled perhaps: sent now, and (on a broken link) lost with it; the lease then expires.
  await sink.send(out);
  return out;
}
