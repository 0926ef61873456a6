// A replication rule as Rucio defines it: a DID, an RSE expression, a number
// of copies, an optional lifetime, a grouping, an optional weight attribute
// and source expression, and `locked`. Its state comes from its locks.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseDid } from "../../common/did.js";
import { parseDuration } from "../../common/duration.js";
import { parseRseExpression } from "../rse-expression/index.js";

export const Groupings = ["ALL", "DATASET", "NONE"] as const;
export type Grouping = (typeof Groupings)[number];

export const LockStates = ["OK", "REPLICATING", "STUCK"] as const;
export type LockState = (typeof LockStates)[number];

export const RuleStates = ["OK", "REPLICATING", "STUCK", "SUSPENDED"] as const;
export type RuleState = (typeof RuleStates)[number];

/** The most copies a rule may ask for: more than any federation has RSEs. */
export const MAX_COPIES = 64;

export interface RuleInput {
  did: string;
  rseExpression: string;
  copies?: number;
  /** A duration (`30d`) or seconds; absent: the rule never expires. */
  lifetime?: string | number;
  grouping?: string;
  weight?: string;
  sourceExpression?: string;
  locked?: boolean;
  /** The subscription that made it (`site/name`), if any. */
  subscription?: string;
}

export interface ValidRuleInput {
  did: string;
  rseExpression: string;
  copies: number;
  lifetimeSeconds: number | undefined;
  grouping: Grouping;
  weight: string;
  sourceExpression: string;
  locked: boolean;
  subscription: string;
}

export interface Rule extends ValidRuleInput {
  id: string;
  state: RuleState;
  locks: Record<LockState, number>;
  createdAt: string;
  /** ISO time, or "" when the rule has no lifetime. */
  expiresAt: string;
  /** False until every lock of the rule's DID at creation has been written. */
  evaluated: boolean;
}

function refuse(message: string, hint: string): OrreryError {
  return new OrreryError(ErrorCode.INVALID_ARGUMENT, message, { hint });
}

/** Checks a rule request field by field; every refusal names the field and the fix. */
export function validateRuleInput(input: RuleInput): ValidRuleInput {
  const did = parseDid(input.did);
  const copies = input.copies ?? 1;
  if (!Number.isInteger(copies) || copies < 1 || copies > MAX_COPIES) {
    throw refuse(`copies ${copies} is not a whole number from 1 to ${MAX_COPIES}`, "give --copies N, e.g. --copies 2");
  }
  const grouping = (input.grouping ?? "DATASET").toUpperCase();
  if (!(Groupings as readonly string[]).includes(grouping)) {
    throw refuse(`grouping "${input.grouping}" is not one of ${Groupings.join(", ")}`, "give --grouping ALL, DATASET or NONE");
  }
  // Both expressions are parsed now so a typo is refused before anything is written.
  parseRseExpression(input.rseExpression);
  const sourceExpression = input.sourceExpression ?? "";
  if (sourceExpression !== "") parseRseExpression(sourceExpression);
  const weight = input.weight ?? "";
  if (weight !== "" && !/^[A-Za-z0-9_.-]+$/.test(weight)) {
    throw refuse(`weight "${weight}" is not an attribute name`, "give the name of a numeric RSE attribute, e.g. --weight freespace");
  }
  let lifetimeSeconds: number | undefined;
  if (input.lifetime !== undefined && input.lifetime !== "") {
    lifetimeSeconds = parseDuration(input.lifetime, "lifetime");
    if (lifetimeSeconds <= 0) throw refuse(`lifetime ${String(input.lifetime)} is not positive`, "give a lifetime such as 30d, or none for a rule that never expires");
  }
  return {
    did: `${did.scope}:${did.name}`,
    rseExpression: input.rseExpression,
    copies,
    lifetimeSeconds,
    grouping: grouping as Grouping,
    weight,
    sourceExpression,
    locked: input.locked === true,
    subscription: input.subscription ?? "",
  };
}

/** Rucio's rule state from lock counts: any STUCK lock makes it STUCK, any REPLICATING one REPLICATING. */
export function ruleState(locks: Record<LockState, number>, suspended: boolean): RuleState {
  if (suspended) return "SUSPENDED";
  if (locks.STUCK > 0) return "STUCK";
  if (locks.REPLICATING > 0) return "REPLICATING";
  return "OK";
}
