// The reaper (deletes unlocked replicas: obsolete ones, and the oldest
// tombstones of an RSE over its quota) and bad-replica reports.
export { Reaper, type ReaperOptions, type ReapResult } from "./reaper.js";
export { defineReaperScripts, type ReaperCommands } from "./reaper-scripts.js";
export { s3ObjectDeleter, type ObjectDeleter } from "./object-deleter.js";
export { declareBadReplica, parseBadReplicaRequest, MAX_REASON_LENGTH, type BadReplicaReport } from "./bad-replicas.js";
export { OutputSettlement } from "./obsolete-outputs.js";
