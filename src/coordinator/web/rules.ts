// The DBB's rules for the dashboard: one page of rule.list, so a catalog with
// many rules costs the DBB and the coordinator one bounded request per refresh.
import { RuleListRequestSchema, RuleListResponseSchema } from "../../gen/orrery/v1/dbb_pb.js";
import { dbbRequest, type NatsConnection } from "../../common/nats.js";
import type { RulePage } from "./overview.js";

/** Rules fetched per refresh (the page shows the newest RULES_SHOWN of them). */
const PAGE = 500;

export function dbbRulePage(nc: NatsConnection, timeoutMs = 3_000): () => Promise<RulePage> {
  return async () => {
    const res = await dbbRequest(nc, "rule.list", RuleListRequestSchema, { did: "", pageToken: "", pageSize: PAGE }, RuleListResponseSchema, timeoutMs);
    return {
      more: res.nextPageToken !== "",
      rules: res.rules.map((r) => ({ id: r.id, did: r.did, rseExpression: r.rseExpression, copies: r.copies, state: r.state, locksOk: Number(r.locksOk), locksReplicating: Number(r.locksReplicating), locksStuck: Number(r.locksStuck), createdAt: r.createdAt })),
    };
  };
}
