// The data backbone's one door: the dbb process and the ingest API.
export { runDbb, type DbbOptions, type RunningDbb } from "./run-dbb.js";
export type { CollectionHooks } from "./catalog/catalog.js";
export { ingest, type IngestOptions, type IngestProgress, type IngestResult } from "./ingest/ingest.js";
export { entriesFromManifest, entriesFromFiles, type IngestEntry, type FilesSpec, type ManifestParser } from "./ingest/entries.js";
export { parseManifest, type ManifestEntry } from "./ingest/manifest.js";
export { parseRseExpression, evaluate as evaluateRseExpression, resolve as resolveRseExpression, type RseExpression, type RseLike } from "./rse-expression/index.js";
export { TransferPublisher, startTransferWorkers, copyVerified, type TransferWorkers, type TransferWorkerOptions } from "./transfers/index.js";
export type { TransferRequest, TransferQueue, TransferSource, TransferTask, ClaimResult, TransferLedgerPort } from "./rules/index.js";
export { parsePolicyYaml, parsePolicyJson, policyInvalid, rseProblems, MAX_POLICY_BYTES, type Policy, type PolicyInput } from "./policies/index.js";
