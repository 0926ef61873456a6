// Which subscriptions a new file DID passes, and the rules each one asks for,
// as Rucio's transmogrifier matches a new DID against every active
// subscription's filter and creates the subscription's rules on it.
import type { Redis } from "ioredis";
import { DidType, Keys } from "../catalog/keys.js";
import type { CreatedFile } from "../catalog/replica-registrar.js";
import type { RuleInput } from "../rules/index.js";
import type { StoredPolicy } from "./policy-store.js";
import type { Subscription } from "./policy-schema.js";

/** A rule a subscription asks for on one file. */
export interface SubscriptionJob {
  did: string;
  input: RuleInput;
}

function metadataOf(file: CreatedFile): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(file.metadata);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Whether a file of the policy's site passes a subscription's filter. A
 * metadata value matches when it reads the same as text (`20260301` in YAML
 * matches "20260301" in a manifest), so YAML's typing does not get in the way.
 */
export function matches(sub: Subscription, site: string, file: CreatedFile): boolean {
  const m = sub.match;
  if (file.originSite !== site || file.scope !== m.scope || !m.datasetType.includes(file.datasetType)) return false;
  if (m.originSite !== undefined && m.originSite !== file.originSite) return false;
  if (m.metadata === undefined) return true;
  const metadata = metadataOf(file);
  return Object.entries(m.metadata).every(([k, v]) => {
    const actual = metadata[k];
    return (typeof actual === "string" || typeof actual === "number" || typeof actual === "boolean") && String(actual) === String(v);
  });
}

/** The rules of one subscription on one file; the rule records `site/name` as its subscription. */
export function jobsFor(site: string, sub: Subscription, did: string): SubscriptionJob[] {
  return sub.rules.map((r) => ({
    did,
    input: {
      did,
      rseExpression: r.rseExpression,
      copies: r.copies,
      grouping: r.grouping,
      locked: r.locked,
      subscription: `${site}/${sub.name}`,
      ...(r.lifetime !== undefined ? { lifetime: r.lifetime } : {}),
      ...(r.weight !== undefined ? { weight: r.weight } : {}),
      ...(r.sourceExpression !== undefined ? { sourceExpression: r.sourceExpression } : {}),
    },
  }));
}

/** Rules for new files: every subscription of the file's site set before the file was registered. */
export function jobsForNew(files: readonly CreatedFile[], policies: ReadonlyMap<string, StoredPolicy>): SubscriptionJob[] {
  const jobs: SubscriptionJob[] = [];
  for (const f of files) {
    const stored = policies.get(f.originSite);
    if (!stored) continue;
    for (const sub of stored.policy.subscriptions) {
      if (f.registeredAt < (stored.since[sub.name] ?? Infinity)) continue;
      if (matches(sub, stored.policy.site, f)) jobs.push(...jobsFor(stored.policy.site, sub, f.did));
    }
  }
  return jobs;
}

const FIELDS = ["type", "scope", "datasetType", "metadata", "originSite", "createdAt"] as const;

/** Files as the catalog holds them (one pipelined round trip); DIDs that are gone or not files are left out. */
export async function readCreatedFiles(redis: Redis, dids: readonly string[], registeredAt: (did: string, createdAt: string) => number): Promise<CreatedFile[]> {
  if (dids.length === 0) return [];
  const pipe = redis.pipeline();
  for (const did of dids) {
    const i = did.indexOf(":");
    pipe.hmget(Keys.did(did.slice(0, i), did.slice(i + 1)), ...FIELDS);
  }
  const out: CreatedFile[] = [];
  ((await pipe.exec()) ?? []).forEach(([err, value], i) => {
    if (err) throw err;
    const [type, scope, datasetType, metadata, originSite, createdAt] = value as (string | null)[];
    if (type !== DidType.FILE) return;
    const did = dids[i]!;
    out.push({ did, scope: scope ?? "", datasetType: datasetType ?? "", metadata: metadata ?? "{}", originSite: originSite ?? "", registeredAt: registeredAt(did, createdAt ?? "") });
  });
  return out;
}
