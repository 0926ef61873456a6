// The agent's journal: leases in flight and results the coordinator has not yet
// acknowledged. An agent restarted on the same node reads it to report what
// finished and to abandon what did not.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Database, RootDatabase } from "lmdb";
import { QuantumResultSchema, type QuantumResult } from "../../gen/orrery/v1/agent_link_pb.js";

export interface InFlightLease {
  leaseId: string;
  quantumId: string;
  attempt: number;
  startMs: number;
}

export class Journal {
  private readonly leases: Database<InFlightLease, string>;
  private readonly results: Database<Buffer, string>;

  constructor(private readonly root: RootDatabase) {
    this.leases = root.openDB<InFlightLease, string>({ name: "journal-leases" });
    this.results = root.openDB<Buffer, string>({ name: "journal-results", encoding: "binary" });
  }

  async leaseStarted(lease: InFlightLease): Promise<void> {
    await this.leases.put(lease.leaseId, lease);
  }

  /** A lease dropped without a result (the coordinator cancelled it). */
  async leaseDropped(leaseId: string): Promise<void> {
    await this.leases.remove(leaseId);
  }

  /** The lease's result replaces the lease, in one transaction: persisted before it is sent. */
  async resultReady(result: QuantumResult): Promise<void> {
    const bytes = Buffer.from(toBinary(QuantumResultSchema, result));
    await this.root.transaction(() => {
      this.leases.removeSync(result.leaseId);
      this.results.putSync(result.leaseId, bytes);
    });
  }

  /** The coordinator acknowledged the result: it no longer needs to be re-sent. */
  async resultAcknowledged(leaseId: string): Promise<void> {
    await this.results.remove(leaseId);
  }

  pendingResults(): QuantumResult[] {
    return [...this.results.getRange()].map(({ value }) => fromBinary(QuantumResultSchema, value));
  }

  hasPendingResult(leaseId: string): boolean {
    return this.results.doesExist(leaseId);
  }

  inFlight(): InFlightLease[] {
    return [...this.leases.getRange()].map(({ value }) => value);
  }
}
