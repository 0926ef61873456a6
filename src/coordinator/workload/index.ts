// The workload folder's door: the manager actor, the port it keeps its
// records behind (QuantaStore), and the record types a store implements it with.
export { WorkloadManager, type CampaignInspection, type RowsView, type CampaignStatusView, type QuantumListing, type AgentCapacity, type LeaseGrant, type AttemptReport, type CancelledLease, type CatalogSource } from "./manager.js";
export { saveCampaign, type QuantaStore, type AttemptLogs, type AttemptRecords, type ProgressWrite, type StoreChanges, type CampaignKeys, type CampaignUpdate, type DefinitionSource, type ExpansionRecord, type StoredCampaign } from "./quanta-store.js";
export type { CampaignRecord, IdentityOutput, IdentityRecord, ProducedReplica, QuantumDefinition, QuantumInput, QuantumOutput, QuantumProgress, TicketRecord } from "./model.js";
export type { TicketView, TicketFilter } from "./tickets.js";
export type { RetryResult } from "./retry.js";
export type { BatchInputs, QuantumRows, RowBatch, TaskRange } from "./quantum-rows.js";
export type { AttemptFigures, KindFigures } from "./attempt-figures.js";
export { readAccounting, attemptsOf, rseSites, type CampaignAccounting, type SiteAccount } from "./accounting.js";
export type { CampaignReport, AccountingCell } from "./accounting-report.js";
export { CampaignTable, type LiveCampaign, type QuantumRef } from "./campaign-table.js";
export { DEFAULT_LOCALITY_DELAY_MS, type AgentSlot } from "./scheduler.js";
export type { ReplicaEvent } from "./locality-feed.js";
export { resolvedDefinitions } from "./definition-lookup.js";
export { unschedulableTasks } from "./unschedulable.js";
export { buildExpansion } from "./quantum-builder.js";
export { settleRows } from "./quantum-links.js";
export { progressToStore } from "./initial-progress.js";
export { Prestager, DEFAULT_PRESTAGE, type PrestagerOptions, type PrestageCounts, type RuleSink } from "./prestager.js";
export type { SiteCapacity } from "./prestage-plan.js";
export type { PilotShape, SiteDemand } from "./site-demand.js";
export type { WorkloadObserver, EndedAttempt } from "./workload-observer.js";
export { QuantumStates, Outcomes } from "./quantum-state.js";
export { CampaignStates } from "./campaign-state.js";
