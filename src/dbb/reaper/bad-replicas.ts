// Bad replicas reported by readers (agents at stage-in, `orrery dbb
// download`): Rucio's declare_bad_file_replicas. The request is untrusted:
// it is parsed here, once, before the ledger sees it.
import type { BadReplicaRequest } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseDid } from "../../common/did.js";
import { checkDidName, checkRseName, checkScope, type ReplicaState } from "../catalog/keys.js";
import type { ReplicaEvent } from "../catalog/replica-registrar.js";
import type { TransferLedgerPort } from "../rules/index.js";

/** Longest DID text accepted (a scope, ':' and a file name). */
const MAX_DID_LENGTH = 1024;
/** A reason is kept to this many characters: it goes into the catalog and the logs. */
export const MAX_REASON_LENGTH = 500;

export interface BadReplicaReport {
  did: string;
  rse: string;
  reason: string;
}

export function parseBadReplicaRequest(req: BadReplicaRequest): BadReplicaReport {
  if (req.did.length > MAX_DID_LENGTH) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `replica.bad: the DID has ${req.did.length} characters, over ${MAX_DID_LENGTH}`);
  }
  const { scope, name } = parseDid(req.did);
  checkScope(scope);
  checkDidName(name);
  checkRseName(req.rse);
  // Control characters would forge log lines; the rest is kept, cut at the cap.
  const reason = req.reason.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (reason === "") {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, "replica.bad: no reason given", { hint: "say what was wrong, e.g. \"md5 mismatch: …\"" });
  }
  return { did: `${scope}:${name}`, rse: req.rse, reason: reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH - 1)}…` : reason };
}

/**
 * Declares the replica BAD through the rule engine's ledger (its locks go
 * back to REPLICATING and it is copied again when another copy exists).
 * Returns the replica's state now and the events to publish.
 */
export async function declareBadReplica(ledger: Pick<TransferLedgerPort, "declareBad">, req: BadReplicaRequest): Promise<{ state: ReplicaState; events: ReplicaEvent[] }> {
  const report = parseBadReplicaRequest(req);
  const events = await ledger.declareBad(report.did, report.rse, report.reason);
  const last = events.at(-1);
  if (last === undefined) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `${report.did} has no replica at ${report.rse} (or it is being deleted)`, {
      hint: `check the file's replicas with: orrery dbb replicas ${report.did}`,
    });
  }
  return { state: last.state, events };
}
