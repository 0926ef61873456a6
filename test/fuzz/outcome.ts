// The fuzzing rule: a file is accepted, or refused with exit 2 (SPEC_INVALID
// or INVALID_ARGUMENT) in one clear message per problem — never a stack
// trace, another code, repeated lines or an unbounded list.
import { readdirSync, readFileSync } from "node:fs";
import { ErrorCode, OrreryError } from "../../src/common/errors.js";
import { MAX_LISTED_PROBLEMS } from "../../src/common/untrusted-text.js";
import { parseCampaign } from "../../src/coordinator/campaign/index.js";
import { parseManifest, parsePolicyYaml } from "../../src/dbb/index.js";
import { CAMPAIGN_WITH_PIPELINE_FILE, type SeedKind } from "./seeds.js";

const REFUSED: readonly string[] = [ErrorCode.SPEC_INVALID, ErrorCode.INVALID_ARGUMENT];

/** zod's own texts: a message must be the schema's, naming what is expected (src/common/zod.ts). */
export const ZOD_GENERIC =
  /Invalid input|Invalid key in record|Invalid option|Invalid element|Invalid (?:string|union|format|literal|enum)|Unrecognized key|Too (?:small|big)|expected [\w"|]+, received|Expected [\w"|]+, received|(?:^|: )Required$/m;

/** What is wrong with a refusal's message text, or undefined when it keeps the rule. */
export function messageViolation(message: string): string | undefined {
  if (/^\s+at .+:\d+/m.test(message)) return "a stack trace in the message";
  const generic = ZOD_GENERIC.exec(message);
  if (generic) return `zod's generic text "${generic[0]}" instead of the schema's own message`;
  const problems = message.split("\n").slice(1);
  if (new Set(problems).size !== problems.length) return "a problem listed twice";
  if (problems.length > MAX_LISTED_PROBLEMS + 1) return `${problems.length} problem lines, over ${MAX_LISTED_PROBLEMS} and a count`;
  return undefined;
}

/** What is wrong with how a parser ended, or undefined when it keeps the rule. */
export function violation(outcome: { ok: true } | { ok: false; err: unknown }): string | undefined {
  if (outcome.ok) return undefined;
  const err = outcome.err;
  if (!(err instanceof OrreryError)) return `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  if (!REFUSED.includes(err.code)) return `refused with ${err.code} (exit ${err.code === ErrorCode.UNAVAILABLE ? 3 : 1}): ${err.message.slice(0, 200)}`;
  return messageViolation(err.message);
}

/** Runs the real in-process parser of `kind` on `text`. */
export function parseAs(kind: SeedKind, text: string): { ok: true } | { ok: false; err: unknown } {
  try {
    if (kind === "campaign") parseCampaign({ specYaml: text, sourceName: "fuzz.yaml" });
    else if (kind === "pipeline") parseCampaign({ specYaml: CAMPAIGN_WITH_PIPELINE_FILE, sourceName: "campaign.yaml", pipelineYaml: text, pipelineSourceName: "pipeline.yaml" });
    else if (kind === "policy") parsePolicyYaml("policy.yaml", text);
    else parseManifest(text, "manifest.jsonl");
    return { ok: true };
  } catch (err) {
    return { ok: false, err };
  }
}

export const REGRESSIONS = new URL("../fixtures/fuzz-regressions/", import.meta.url);

/** The saved crashers: `KIND-what.yaml` (or `.jsonl` for manifests), KIND one of the seed kinds. */
export function regressionFiles(): { name: string; kind: SeedKind; text: string }[] {
  return readdirSync(REGRESSIONS)
    .filter((n) => /^(campaign|pipeline|policy|manifest)-.+\.(yaml|jsonl)$/.test(n))
    .sort()
    .map((name) => ({ name, kind: name.split("-")[0] as SeedKind, text: readFileSync(new URL(name, REGRESSIONS), "utf8") }));
}
