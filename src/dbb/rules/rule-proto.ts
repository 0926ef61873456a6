// A rule as the dbb API sends it.
import { create } from "@bufbuild/protobuf";
import { RuleSchema, type Rule as RuleMessage } from "../../gen/orrery/v1/dbb_pb.js";
import type { Rule } from "./rule-model.js";

export function ruleToProto(rule: Rule): RuleMessage {
  return create(RuleSchema, {
    id: rule.id,
    did: rule.did,
    rseExpression: rule.rseExpression,
    copies: rule.copies,
    state: rule.state,
    locksOk: BigInt(rule.locks.OK),
    locksReplicating: BigInt(rule.locks.REPLICATING),
    locksStuck: BigInt(rule.locks.STUCK),
    grouping: rule.grouping,
    lifetimeSeconds: rule.lifetimeSeconds ?? 0,
    expiresAt: rule.expiresAt,
    weight: rule.weight,
    sourceExpression: rule.sourceExpression,
    locked: rule.locked,
    subscription: rule.subscription,
    createdAt: rule.createdAt,
  });
}
