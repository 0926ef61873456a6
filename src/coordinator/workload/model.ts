import type { DataId } from "../../common/data-id.js";
import type { CampaignState } from "./campaign-state.js";
import type { QuantumState } from "./quantum-state.js";
import type { AttemptFigures } from "./attempt-figures.js";
import type { CampaignAccounting } from "./accounting.js";

/** An input of a quantum: a catalog file, or an output of an upstream quantum. */
export interface QuantumInput {
  role: string;
  did: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
  /** Upstream quantum id, for an output of this campaign. */
  producer?: string;
  /** Known bytes and checksums (catalog files, or filled when the producer succeeds). */
  bytes?: number;
  adler32?: string;
  md5?: string;
  rses?: string[];
}

export interface QuantumOutput {
  role: string;
  did: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
}

/** What a quantum is: fixed when the graph is expanded. */
export interface QuantumDefinition {
  id: string;
  campaign: string;
  task: string;
  dataId: DataId;
  /** Hash of task, resolved config, data id, command and inputs (campaign/identity.ts): equal means the same work. */
  identity: string;
  inputs: QuantumInput[];
  outputs: QuantumOutput[];
  upstream: string[];
}

export interface AttemptRecord {
  number: number;
  agent: string;
  site: string;
  /** Node kind of its agent (hpc, spot, static); absent in attempts stored before it was recorded. */
  kind?: string;
  leaseId: string;
  outcome: string; // "" while running
  exitCode: number;
  message: string;
  startMs: number;
  endMs: number;
}

export interface ProducedReplica {
  role: string;
  did: string;
  rse: string;
  bytes: number;
  adler32: string;
  md5: string;
}

export interface IdentityOutput {
  role: string;
  did: string;
  datasetType: string;
  bytes: number;
  adler32: string;
  md5: string;
}

/** What the identity index (`orrery:identity:<hash>`) keeps of the last quantum with that identity that succeeded. */
export interface IdentityRecord {
  quantum: string;
  campaign: string;
  task: string;
  outputs: IdentityOutput[];
}

/** The agent holding a quantum, until when. */
export interface LeaseRecord {
  id: string;
  agent: string;
  deadlineMs: number;
}

/** What happens to a quantum: persisted on every change (in memory: QuantumRows). */
export interface QuantumProgress {
  state: QuantumState;
  attempts: AttemptRecord[];
  failures: number;
  kills: number;
  infraErrors: number;
  memoryMB: number;
  readyAtMs: number;
  lease?: LeaseRecord;
  produced: ProducedReplica[];
}

export interface CampaignRecord {
  name: string;
  state: CampaignState;
  priority: number;
  share: number;
  createdMs: number;
  finishedMs: number;
  /** The validated spec (CampaignSpec) as JSON. */
  specJson: string;
  tasks: string[];
  /** Tasks expanded into quanta so far: all but deferred ones (and their downstream) until those are expanded. */
  expanded: string[];
  /** Why expanding a deferred task failed; the campaign is FAILED then. */
  expansionError: string;
  /** This submit of the campaign, unique per submit: names where its definitions are stored. */
  generation: string;
  /** Its ended attempts by node kind (attempt-figures.ts); absent until one ended. */
  attemptFigures?: AttemptFigures;
  /** Its attempts per task and site (accounting.ts, `orrery report`); absent until one ended. */
  accounting?: CampaignAccounting;
}

/**
 * An operator's ticket: a quantum that FAILED (its retry budget spent). One per
 * quantum and campaign generation; a later failure after `orrery retry`
 * updates it; it closes when the quantum succeeds (or is cancelled).
 */
export interface TicketRecord {
  quantum: string;
  campaign: string;
  /** The campaign submit it belongs to: a resubmit's campaign has none of the old one's tickets. */
  generation: string;
  task: string;
  state: "open" | "closed";
  /** Of the attempt that failed the quantum. */
  outcome: string;
  exitCode: number;
  message: string;
  /** The last lines of that attempt's stderr. */
  stderrTail: string;
  attempt: number;
  /** Why no retry was left (the retry policy's reason: "2 failure(s), budget 1"). */
  reason: string;
  openedMs: number;
  /** 0 while open. */
  closedMs: number;
}
