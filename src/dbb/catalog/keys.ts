// Redis key layout of the DBB catalog (every key under `dbb:`) and the name
// rules the keys rely on: a scope and an RSE name never hold a ':', so
// `dbb:did:<scope>:<name>` and `dbb:replica:<rse>:<scope>:<name>` stay unambiguous
// even though a file name may contain ':' or '/'.
import { ErrorCode, OrreryError } from "../../common/errors.js";

export const SCOPE_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const DATASET_TYPE_PATTERN = /^[A-Za-z0-9_.-]+$/;
export const RSE_NAME_PATTERN = /^[a-z0-9-]+$/;
export const SITE_PATTERN = /^[A-Za-z0-9_.-]+$/;

export const Keys = {
  /** Set of every RSE name. */
  rses: "dbb:rses",
  /** Hash: one RSE's attributes (see rse-store.ts). */
  rse: (rse: string) => `dbb:rse:${rse}`,
  /** Hash: a DID (FILE, DATASET or CONTAINER) with its catalog attributes; collections have `open` "1"/"0". */
  did: (scope: string, name: string) => `dbb:did:${scope}:${name}`,
  /** Set of RSE names holding a replica of a file (any state). */
  fileRses: (scope: string, name: string) => `dbb:did-rses:${scope}:${name}`,
  /** Hash: one replica (state, path, bytes, checksums, updatedAt, locks, tombstone). */
  replica: (rse: string, scope: string, name: string) => `dbb:replica:${rse}:${scope}:${name}`,
  /** Set of DIDs (`scope:name`) with a replica at an RSE: the reaper's and quota's view. */
  rseReplicas: (rse: string) => `dbb:rse-replicas:${rse}`,
  /** Set of file names of one scope and dataset type: a type query is one pass. */
  typeIndex: (scope: string, datasetType: string) => `dbb:type:${scope}:${datasetType}`,
  /** Set of child DIDs (`scope:name`) of a collection: files of a DATASET, datasets and containers of a CONTAINER. */
  members: (scope: string, name: string) => `dbb:members:${scope}:${name}`,
  /** Hash: one replication rule (see rules/rule-store.ts). */
  rule: (id: string) => `dbb:rule:${id}`,
  /** Set of every rule id. */
  rules: "dbb:rules",
  /** Set of rule ids whose DID is this one. */
  didRules: (scope: string, name: string) => `dbb:did-rules:${scope}:${name}`,
  /** String: the rule id holding a (DID, expression) pair, so a duplicate is refused atomically. */
  ruleIdentity: (did: string, expression: string) => `dbb:rule-identity:${did}\u0000${expression}`,
  /** Hash: a rule's locks, field `<rse>:<scope>:<name>` → OK | REPLICATING | STUCK. */
  ruleLocks: (id: string) => `dbb:rule-locks:${id}`,
  /** Hash: RSEs a rule chose for a group (ALL: field "*", DATASET: the dataset DID) → JSON list. */
  ruleGroups: (id: string) => `dbb:rule-groups:${id}`,
  /** Set of `<ruleId>:<rse>`: every lock on a file. */
  fileLocks: (scope: string, name: string) => `dbb:file-locks:${scope}:${name}`,
  /** Sorted set of rule ids by expiry (ms). */
  ruleExpiry: "dbb:rule-expiry",
  /** Set of rule ids with STUCK locks: the repairer's work list. */
  stuckRules: "dbb:stuck-rules",
  /** Sorted set of unlocked file DIDs at an RSE by tombstone (ms; 0 = obsolete): the reaper's queue. */
  tombstones: (rse: string) => `dbb:tombstones:${rse}`,
  /** Hash: RSE → bytes of the replicas it holds (every state but BEING_DELETED). */
  rseUsage: "dbb:rse-usage",
  /** Hash: the transfer ledger, field `<rse>:<scope>:<name>` → JSON {gen, rule, queuedAt, claim?, tries?}. */
  transfers: "dbb:transfers",
  /** Counter giving each transfer request its generation. */
  transferGen: "dbb:transfer-gen",
  /** Set of the collections (`scope:name`) a DID is attached to: walked upwards to refuse cycles. */
  parents: (scope: string, name: string) => `dbb:parents:${scope}:${name}`,
  /** Set of every scope: filled when a DID of the scope is first registered. */
  scopes: "dbb:scopes",
  /** Hash: file DID → `<bytes>:<markedAtMs>` of replicas at an RSE the reaper marked BEING_DELETED and has not finished. */
  beingDeleted: (rse: string) => `dbb:being-deleted:${rse}`,
  /** String: a site's replication policy, JSON {policy, since, setAt} (see policies/policy-store.ts). */
  policy: (site: string) => `dbb:policy:${site}`,
  /** Set of sites that have a policy. */
  policies: "dbb:policies",
  /** Set of sites whose retroactive subscriptions have not yet been applied to every existing file. */
  policyRetroactive: "dbb:policy-retroactive",
  /** Sorted set of new file DIDs by registration time (ms): written with the registration, removed once their site's subscriptions made their rules. */
  subscriptionPending: "dbb:subscription-pending",
} as const;

export const DidType = { FILE: "FILE", DATASET: "DATASET", CONTAINER: "CONTAINER" } as const;
export type DidType = (typeof DidType)[keyof typeof DidType];

export const ReplicaState = {
  AVAILABLE: "AVAILABLE",
  COPYING: "COPYING",
  UNAVAILABLE: "UNAVAILABLE",
  BAD: "BAD",
  BEING_DELETED: "BEING_DELETED",
} as const;
export type ReplicaState = (typeof ReplicaState)[keyof typeof ReplicaState];


function check(value: string, pattern: RegExp, what: string, rule: string): string {
  if (!pattern.test(value)) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${what} "${value}" is not valid: use ${rule}`);
  }
  return value;
}

export function checkScope(scope: string, what = "scope"): string {
  return check(scope, SCOPE_PATTERN, what, "letters, digits, '_', '.' and '-'");
}

export function checkDatasetType(datasetType: string, what = "dataset type"): string {
  return check(datasetType, DATASET_TYPE_PATTERN, what, "letters, digits, '_', '.' and '-'");
}

export function checkRseName(rse: string, what = "RSE name"): string {
  return check(rse, RSE_NAME_PATTERN, what, "lower-case letters, digits and '-'");
}

export function checkSite(site: string, what = "site"): string {
  return check(site, SITE_PATTERN, what, "letters, digits, '_', '.' and '-'");
}

/** A file or collection name: non-empty, no leading '/', no control characters. */
export function checkDidName(name: string, what = "DID name"): string {
  if (name === "" || name.startsWith("/") || /[\u0000-\u001f]/.test(name)) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${what} "${name}" is not valid: give a non-empty relative name without control characters`);
  }
  return name;
}
