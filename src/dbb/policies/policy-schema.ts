// A site's replication policy: its subscriptions, as Rucio has them (a filter
// on new DIDs and the rules to create on every DID that passes). One zod
// schema checks the YAML on the CLI side and the JSON the dbb receives, so a
// policy the CLI accepts is the policy the dbb stores.
import { z } from "../../common/zod.js";
import { isOrreryError } from "../../common/errors.js";
import { parseDuration } from "../../common/duration.js";
import { DATASET_TYPE_PATTERN, SCOPE_PATTERN, SITE_PATTERN } from "../catalog/keys.js";
import { evaluate, parseRseExpression, type RseLike } from "../rse-expression/index.js";
import type { ProblemLocator, SpecProblem } from "../../common/yaml-problems.js";

/** The rule engine's own limit on copies (rules' MAX_COPIES); checked here so the file is refused, not each rule. */
const MAX_COPIES = 64;
/** Caps on untrusted input: far above any real site's policy. */
export const MAX_SUBSCRIPTIONS = 500;
const MAX_RULES = 16;
const MAX_METADATA_KEYS = 32;
/** The most bytes of policy text (YAML or JSON) read. */
export const MAX_POLICY_BYTES = 256 * 1024;

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const ATTRIBUTE = /^[A-Za-z0-9_.-]+$/;

/** An RSE expression, parsed now so a typo is refused before anything is stored. */
const rseExpression = z.string().superRefine((text, ctx) => {
  try {
    parseRseExpression(text);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: isOrreryError(err) ? err.message : String(err) });
  }
});

/** Kept as written (`30d`), so `policy show` prints what the operator wrote; checked to be a positive duration. */
const lifetime = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  let seconds: number | undefined;
  try {
    seconds = parseDuration(value);
  } catch {
    seconds = undefined;
  }
  if (seconds === undefined || seconds <= 0) ctx.addIssue({ code: "custom", message: `"${String(value)}" is not a positive duration; write 90s, 15m, 2h, 30d or seconds` });
});

export const SubscriptionRuleSchema = z
  .object({
    rseExpression,
    copies: z.number().int().min(1).max(MAX_COPIES).default(1),
    lifetime: lifetime.optional(),
    // A subscription's rule is on one file, for which NONE (per file) is the natural grouping.
    grouping: z.enum(["ALL", "DATASET", "NONE"], { error: "must be ALL, DATASET or NONE" }).default("NONE"),
    weight: z.string().regex(ATTRIBUTE, "must be the name of a numeric RSE attribute").optional(),
    sourceExpression: rseExpression.optional(),
    locked: z.boolean().default(false),
  })
  .strict();

export const SubscriptionMatchSchema = z
  .object({
    scope: z.string().regex(SCOPE_PATTERN, "must be a scope name (letters, digits, '_', '.' and '-')"),
    datasetType: z.array(z.string().regex(DATASET_TYPE_PATTERN, "must be a dataset type name")).min(1, "list at least one dataset type, e.g. [raw]"),
    metadata: z
      .record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]))
      .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `at most ${MAX_METADATA_KEYS} keys`)
      .optional(),
    originSite: z.string().regex(SITE_PATTERN, "must be a site name").optional(),
  })
  .strict();

export const SubscriptionSchema = z
  .object({
    name: z.string().regex(NAME, "must be 1..64 of letters, digits, '_', '.' and '-'"),
    match: SubscriptionMatchSchema,
    rules: z.array(SubscriptionRuleSchema).min(1, "give at least one rule").max(MAX_RULES, `at most ${MAX_RULES} rules`),
    retroactive: z.boolean().default(false),
  })
  .strict();

export const PolicySchema = z
  .object({
    site: z.string().regex(SITE_PATTERN, "must be a site name (letters, digits, '_', '.' and '-')"),
    subscriptions: z.array(SubscriptionSchema).max(MAX_SUBSCRIPTIONS, `at most ${MAX_SUBSCRIPTIONS} subscriptions`),
  })
  .strict()
  // Runs even when other fields are wrong (`when`), so a file's problems are all listed at once; it reads the value defensively.
  .superRefine((policy, ctx) => crossChecks(policy, ctx), { when: () => true });

type Loose = Record<string, unknown> | undefined;

function record(v: unknown): Loose {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** What no single field shows: names given twice, an originSite no file of the site has, a rule repeated. */
function crossChecks(policy: unknown, ctx: z.RefinementCtx): void {
  const site = record(policy)?.["site"];
  const subscriptions = record(policy)?.["subscriptions"];
  if (!Array.isArray(subscriptions)) return;
  const first = new Map<string, number>();
  subscriptions.forEach((raw: unknown, i) => {
    const s = record(raw);
    const name = s?.["name"];
    if (typeof name === "string") {
      const before = first.get(name);
      if (before !== undefined) ctx.addIssue({ code: "custom", path: ["subscriptions", i, "name"], message: `"${name}" is also the name of subscriptions.${before}` });
      else first.set(name, i);
    }
    const originSite = record(s?.["match"])?.["originSite"];
    // The policy of a site sees only DIDs first registered at that site.
    if (typeof site === "string" && typeof originSite === "string" && originSite !== site) {
      ctx.addIssue({ code: "custom", path: ["subscriptions", i, "match", "originSite"], message: `"${originSite}" is not this policy's site "${site}": it would never match; leave it out or set that site's policy` });
    }
    const rules = s?.["rules"];
    if (!Array.isArray(rules)) return;
    const expressions = new Map<string, number>();
    rules.forEach((r: unknown, j) => {
      const expression = record(r)?.["rseExpression"];
      if (typeof expression !== "string") return;
      const other = expressions.get(expression);
      // Rucio's DuplicateRule: one rule per (DID, expression), so the second could never be made.
      if (other !== undefined) ctx.addIssue({ code: "custom", path: ["subscriptions", i, "rules", j, "rseExpression"], message: `same expression as rules.${other}: a DID has one rule per RSE expression` });
      else expressions.set(expression, j);
    });
  });
}

/** A policy as the operator writes it (defaults may be left out). */
export type PolicyInput = z.input<typeof PolicySchema>;
export type Policy = z.output<typeof PolicySchema>;
export type Subscription = Policy["subscriptions"][number];
export type SubscriptionRule = Subscription["rules"][number];

/**
 * What the catalog's RSEs say against a policy: a site with no RSE (a typo
 * that would match nothing), and rules whose expression selects fewer RSEs
 * than their copies today (Rucio's InsufficientTargetRSEs), found when the
 * policy is set rather than on every file it would have applied to.
 */
export function rseProblems(policy: Policy, rses: readonly RseLike[], at: ProblemLocator): SpecProblem[] {
  const problems: SpecProblem[] = [];
  if (!rses.some((r) => r.site === policy.site)) {
    const sites = [...new Set(rses.map((r) => r.site))].sort().join(", ") || "none";
    problems.push(at.problem(["site"], `no RSE is at site "${policy.site}" (sites: ${sites})`));
  }
  policy.subscriptions.forEach((s, i) =>
    s.rules.forEach((r, j) => {
      const selected = evaluate(parseRseExpression(r.rseExpression), rses);
      if (selected.length < r.copies) {
        const names = selected.map((x) => x.name).join(", ") || "none";
        problems.push(at.problem(["subscriptions", i, "rules", j, "rseExpression"], `"${r.rseExpression}" selects ${selected.length} RSE(s) (${names}), fewer than the ${r.copies} copies asked for`));
      }
    }),
  );
  return problems;
}
