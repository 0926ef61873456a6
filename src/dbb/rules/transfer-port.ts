// What rule evaluation and transfer workers exchange: requests on the
// JetStream work queue, and the catalog side a worker reports to.
import type { ReplicaEvent } from "../catalog/replica-registrar.js";

/** A transfer request: the message body on the work queue (JSON). */
export interface TransferRequest {
  /** Destination RSE. */
  rse: string;
  /** File DID, `scope:name`. */
  did: string;
  /** Generation of the ledger entry; a message of an older generation is stale. */
  gen: number;
}

export interface TransferQueue {
  enqueue(requests: readonly TransferRequest[]): Promise<void>;
}

export interface TransferEndpoint {
  endpoint: string;
  bucket: string;
  path: string;
}

export interface TransferSource extends TransferEndpoint {
  rse: string;
}

export interface TransferTask {
  did: string;
  rse: string;
  gen: number;
  bytes: bigint;
  adler32: string;
  md5: string;
  destination: TransferEndpoint;
  /** AVAILABLE replicas the rule's source expression allows, nearest (same site) first. */
  sources: TransferSource[];
  /** Claims of this request so far, this one included: the try count (redeliveries to a busy claim do not count). */
  tries: number;
}

export type ClaimResult = { kind: "task"; task: TransferTask } | { kind: "done" } | { kind: "busy" };

/** The catalog as transfer workers see it; TransferLedger is the Redis one. */
export interface TransferLedgerPort {
  claim(req: TransferRequest, worker: string, ttlMs: number): Promise<ClaimResult>;
  /** Extends a claim the worker holds; false when it lost it (the request was replaced or dropped). */
  renew(req: TransferRequest, worker: string, ttlMs: number): Promise<boolean>;
  /** A verified copy landed: replica AVAILABLE, its locks OK, the request gone; the events to publish. */
  completed(req: TransferRequest, worker: string): Promise<ReplicaEvent[]>;
  /** A try failed; `final` makes the locks STUCK and drops the request. */
  failed(req: TransferRequest, worker: string, reason: string, final: boolean): Promise<void>;
  /** The bytes of a replica do not match the catalog: it is BAD (and copied again if another copy exists). */
  declareBad(did: string, rse: string, reason: string): Promise<ReplicaEvent[]>;
}
