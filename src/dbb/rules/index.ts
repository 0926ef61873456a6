// Replication rules, their locks, the transfer ledger and the judge daemons.
export { RuleEngine, type Selection } from "./rule-engine.js";
export { RuleStore } from "./rule-store.js";
export { TransferLedger } from "./transfer-ledger.js";
export { Judge, type JudgeOptions } from "./rule-daemons.js";
export { defineLockScripts, type LockCommands } from "./lock-scripts.js";
export { ruleToProto } from "./rule-proto.js";
export type { Rule, RuleInput, RuleState, LockState, Grouping } from "./rule-model.js";
export type { TransferRequest, TransferQueue, TransferTask, TransferSource, TransferEndpoint, ClaimResult, TransferLedgerPort } from "./transfer-port.js";
