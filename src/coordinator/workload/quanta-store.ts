// The port the workload manager keeps its records behind: campaigns, quantum
// definitions, progress, identity records, attempt logs and provenance. The
// workload folder owns this contract; store/ implements it (Redis), and only
// the composition root (server.ts) picks the implementation.
// test/quanta-store-conformance.ts is the suite every implementation passes.
import type { CampaignRecord, IdentityRecord, QuantumDefinition, QuantumProgress, TicketRecord } from "./model.js";
import type { RowBatch, TaskRange } from "./quantum-rows.js";

/** Definitions to store: `count` of them, by index. */
export interface DefinitionSource {
  count: number;
  id(i: number): string;
  definition(i: number): QuantumDefinition;
}

/** What names a campaign's records: one generation per submit of the campaign. */
export type CampaignKeys = Pick<CampaignRecord, "name" | "generation">;

export interface StoredCampaign {
  record: CampaignRecord;
  /** Task ranges of its quanta, in row order. */
  ranges: TaskRange[];
  /** Its rows' links and identities, batch by batch in row order. */
  batches: RowBatch[];
  /** Its tickets (of its current generation), open and closed. */
  tickets: TicketRecord[];
}

/** The campaign fields a deferred expansion changes. */
export type ExpansionRecord = Pick<CampaignRecord, "name" | "generation" | "state" | "finishedMs" | "expanded" | "expansionError">;

/** The campaign fields that change while it runs (not its spec, tasks or generation). */
export type CampaignUpdate = Omit<CampaignRecord, "specJson" | "tasks" | "generation">;

export interface AttemptLogs {
  stdout: string;
  stderr: string;
}

/** An attempt's records: the payload's log tails (none for a built-in that ran nothing) and its provenance. */
export interface AttemptRecords {
  quantum: string;
  attempt: number;
  logs?: AttemptLogs;
  provenance: string;
}

/** Progress of some quanta of a campaign and the identity records of those that succeeded. */
export interface ProgressWrite {
  campaign: string;
  updates: ReadonlyMap<string, QuantumProgress>;
  identities?: ReadonlyMap<string, IdentityRecord> | undefined;
}

/** What one handler of the workload manager changed, stored by saveChanges all or nothing. */
export interface StoreChanges {
  progress: readonly ProgressWrite[];
  attempts: readonly AttemptRecords[];
  campaigns: readonly CampaignUpdate[];
  /** Tickets opened or closed (each replaces the quantum's stored one); absent: none. */
  tickets?: readonly TicketRecord[];
}

/**
 * A campaign's definitions are written before the commit that names its task
 * ranges: until then (or if a crash cuts a write short) nothing of them is
 * visible. Progress is stored only for quanta not in their first state.
 */
export interface QuantaStore {
  /**
   * Writes definitions under the campaign's generation. Nothing reads them
   * until a commit names their task ranges; a write a crash cut short is
   * overwritten by the next one.
   */
  writeDefinitions(c: CampaignKeys, quanta: DefinitionSource): Promise<void>;
  /** Forgets definitions written for a campaign generation that was never committed (or was replaced). */
  dropDefinitions(c: CampaignKeys): Promise<void>;
  /**
   * Makes a new campaign visible, all or nothing: its record (naming its
   * generation and task ranges), its rows' links and identities, and the
   * progress of quanta not in their first state. A campaign of the same name
   * it replaces goes with its progress, its tickets and its generation's definitions.
   */
  commitCampaign(record: CampaignRecord, ranges: readonly TaskRange[], progress: ReadonlyMap<string, QuantumProgress>, rows: RowBatch): Promise<void>;
  /**
   * A deferred expansion (its definitions written already), all or nothing:
   * the new rows (`rows`, from row `first`), their progress, and the
   * campaign's expanded tasks, state and ranges.
   */
  saveExpansion(record: ExpansionRecord, ranges: readonly TaskRange[], progress: ReadonlyMap<string, QuantumProgress>, rows?: { first: number; batch: RowBatch }): Promise<void>;
  /** The definitions of some quanta of a campaign, in the order asked. */
  getDefinitions(c: CampaignKeys, ids: readonly string[]): Promise<QuantumDefinition[]>;
  updateCampaign(record: CampaignUpdate): Promise<void>;
  /**
   * A handler's changes, all or nothing, in one round trip however many
   * results or leases it handled: progress and identity records, attempt
   * records, campaign records, tickets.
   */
  saveChanges(changes: StoreChanges): Promise<void>;
  /** Progress of some quanta and, for those that succeeded, their identity records, together. */
  saveProgress(campaign: string, updates: ReadonlyMap<string, QuantumProgress>, identities?: ReadonlyMap<string, IdentityRecord>): Promise<void>;
  /** Stored progress of some quanta (those not in their first state have one). */
  getProgress(campaign: string, ids: readonly string[]): Promise<Map<string, QuantumProgress>>;
  /** Every stored progress record of a campaign, visited a batch at a time (never all in memory at once). */
  scanProgress(campaign: string, visit: (id: string, progress: QuantumProgress) => void): Promise<void>;
  /** Identity records of the given hashes (those there are); they outlive the campaigns that wrote them. */
  getIdentities(hashes: readonly string[]): Promise<Map<string, IdentityRecord>>;
  saveAttemptRecords(quantum: string, attempt: number, logs: AttemptLogs, provenance: string): Promise<void>;
  getLogs(quantum: string, attempt: number): Promise<AttemptLogs | undefined>;
  getProvenance(quantum: string, attempt: number): Promise<string | undefined>;
  /** Answers when the store can be reached (used to see an outage end when nothing is waiting to be written). */
  ping(): Promise<void>;
  /** Every committed campaign's record, task ranges and rows, for the in-memory indexes at start-up (then scanProgress and getDefinitions). */
  loadAll(onUnreadable?: (campaign: string, why: string) => void): Promise<StoredCampaign[]>;
}

/**
 * Stores a new campaign: its definitions, then the commit. The manager runs
 * the two apart (the definitions outside its mailbox); this is both in one.
 */
export async function saveCampaign(
  store: QuantaStore,
  record: CampaignRecord,
  quanta: DefinitionSource & RowBatch,
  ranges: readonly TaskRange[],
  progress: ReadonlyMap<string, QuantumProgress>,
): Promise<void> {
  await store.writeDefinitions(record, quanta);
  await store.commitCampaign(record, ranges, progress, quanta);
}
