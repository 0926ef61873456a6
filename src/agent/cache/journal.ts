// The agent's journal: leases in flight, the process groups of their running
// payloads, and results the coordinator has not yet acknowledged. An agent
// restarted on the same node reads it to kill the payloads its predecessor
// left running, to report what finished and to abandon what did not.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Database, RootDatabase } from "lmdb";
import { QuantumResultSchema, type QuantumResult } from "../../gen/orrery/v1/agent_link_pb.js";

export interface InFlightLease {
  leaseId: string;
  quantumId: string;
  attempt: number;
  startMs: number;
}

/** A running payload's process group, named so that a reused pid is not mistaken for it. */
export interface PayloadGroupRecord {
  leaseId: string;
  pgid: number;
  /** The group leader's start time, clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number;
  bootId: string;
}

export class Journal {
  private readonly leases: Database<InFlightLease, string>;
  private readonly results: Database<Buffer, string>;
  private readonly groups: Database<PayloadGroupRecord, string>;

  constructor(private readonly root: RootDatabase) {
    this.leases = root.openDB<InFlightLease, string>({ name: "journal-leases" });
    this.groups = root.openDB<PayloadGroupRecord, string>({ name: "journal-payload-groups" });
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

  /** A payload started: its group is recorded before the agent could die and orphan it. */
  async payloadStarted(group: PayloadGroupRecord): Promise<void> {
    await this.groups.put(group.leaseId, group);
  }

  /** The payload's group is over (ended, or killed by this agent or its successor). */
  async payloadEnded(leaseId: string): Promise<void> {
    await this.groups.remove(leaseId);
  }

  payloadGroups(): PayloadGroupRecord[] {
    return [...this.groups.getRange()].map(({ value }) => value);
  }

  inFlight(): InFlightLease[] {
    return [...this.leases.getRange()].map(({ value }) => value);
  }
}
