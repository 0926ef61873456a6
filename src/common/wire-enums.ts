// Names of the wire enums as people, the CLI's JSON and the
// workload manager know them ("RUNNING", "payload_error", "spot"), and the
// wire values they travel as. One table each, read both ways.
import { AttemptOutcome, CampaignState, NodeKind, QuantumState, StorageTier } from "../gen/orrery/v1/common_pb.js";

function both<N extends string, E extends number>(table: Record<N, E>) {
  const byValue = new Map<number, N>(Object.entries(table).map(([n, v]) => [v as number, n as N]));
  return {
    /** The wire value of a name; undefined for a name the enum does not have. */
    value: (name: string): E | undefined => (Object.hasOwn(table, name) ? table[name as N] : undefined),
    /** The name of a wire value; undefined for UNSPECIFIED or a value this build does not know. */
    name: (value: number): N | undefined => byValue.get(value),
    names: Object.keys(table) as N[],
  };
}

export const quantumStates = both({
  PENDING: QuantumState.PENDING,
  READY: QuantumState.READY,
  RUNNING: QuantumState.RUNNING,
  SUCCEEDED: QuantumState.SUCCEEDED,
  FAILED: QuantumState.FAILED,
  BLOCKED: QuantumState.BLOCKED,
  CANCELLED: QuantumState.CANCELLED,
  SKIPPED: QuantumState.SKIPPED,
});

export const campaignStates = both({
  RUNNING: CampaignState.RUNNING,
  PAUSED: CampaignState.PAUSED,
  SUCCEEDED: CampaignState.SUCCEEDED,
  FAILED: CampaignState.FAILED,
  CANCELLED: CampaignState.CANCELLED,
});

export const attemptOutcomes = both({
  succeeded: AttemptOutcome.SUCCEEDED,
  payload_error: AttemptOutcome.PAYLOAD_ERROR,
  out_of_memory: AttemptOutcome.OUT_OF_MEMORY,
  timeout: AttemptOutcome.TIMEOUT,
  preempted: AttemptOutcome.PREEMPTED,
  lost: AttemptOutcome.LOST,
  stage_in_error: AttemptOutcome.STAGE_IN_ERROR,
  stage_out_error: AttemptOutcome.STAGE_OUT_ERROR,
  cancelled: AttemptOutcome.CANCELLED,
  agent_error: AttemptOutcome.AGENT_ERROR,
  out_of_disk: AttemptOutcome.OUT_OF_DISK,
});

export const nodeKinds = both({ hpc: NodeKind.HPC, spot: NodeKind.SPOT, static: NodeKind.STATIC });

/** RSE tiers: names are what rse expressions (tier=disk) and the DBB's Redis hashes hold. */
export const storageTiers = both({ custodial: StorageTier.CUSTODIAL, disk: StorageTier.DISK, scratch: StorageTier.SCRATCH });
