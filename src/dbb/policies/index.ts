// Per-site replication policies (Rucio's subscriptions, one policy per site):
// the policy file's schema and parsers, and the dbb side that stores policies
// and makes their rules on new (and, when asked, existing) files.
export { PolicySchema, MAX_POLICY_BYTES, rseProblems, type Policy, type PolicyInput, type Subscription, type SubscriptionRule } from "./policy-schema.js";
export { parsePolicyYaml, parsePolicyJson, policyInvalid, type PolicyFile } from "./policy-file.js";
export { PolicyService, type PolicyServiceOptions, type PolicySetResult } from "./policy-service.js";
