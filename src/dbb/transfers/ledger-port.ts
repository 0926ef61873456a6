// What transfer workers and the rule engine agree on (plan of issue 8). The
// lead is writing these in src/dbb/rules/; until that lands they live here
// with the same names and shapes, and this file then re-exports them.
import type { ReplicaEvent } from "../catalog/replica-registrar.js";

/** A JetStream message body (JSON): copy file `did` to `rse`, generation `gen` of its ledger entry. */
export interface TransferRequest {
  rse: string;
  did: string;
  gen: number;
}

export interface TransferQueue {
  enqueue(requests: readonly TransferRequest[]): Promise<void>;
}

export interface TransferSource {
  rse: string;
  endpoint: string;
  bucket: string;
  path: string;
}

export interface TransferTask {
  did: string;
  rse: string;
  gen: number;
  bytes: bigint;
  adler32: string;
  md5: string;
  destination: { endpoint: string; bucket: string; path: string };
  /** AVAILABLE replicas allowed by the source expression. */
  sources: TransferSource[];
}

export type ClaimResult = { kind: "task"; task: TransferTask } | { kind: "done" } | { kind: "busy" };

/** What transfer workers need from the catalog; the Redis implementation is TransferLedger. */
export interface TransferLedgerPort {
  claim(req: TransferRequest, worker: string, ttlMs: number): Promise<ClaimResult>;
  /** Verified copy landed: replica AVAILABLE, locks OK, ledger entry gone; returns events to publish. */
  completed(req: TransferRequest, worker: string): Promise<ReplicaEvent[]>;
  /** A try failed; `final` makes the locks STUCK and drops the ledger entry. */
  failed(req: TransferRequest, worker: string, reason: string, final: boolean): Promise<void>;
  /** Source bytes did not match the catalog: the source replica is BAD. */
  declareBad(did: string, rse: string, reason: string): Promise<ReplicaEvent[]>;
}
