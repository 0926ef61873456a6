// Reading a policy: from the operator's YAML file (CLI side, so every problem
// names FILE:LINE) and from the JSON the dbb receives (checked again there,
// since any client may send it). Both go through PolicySchema.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { PositionedYaml, formatProblem, unlocated, zodProblems, type ProblemLocator, type SpecProblem } from "../../common/yaml-problems.js";
import { capProblemLines } from "../../common/untrusted-text.js";
import { MAX_POLICY_BYTES, PolicySchema, type Policy } from "./policy-schema.js";

/** One SPEC_INVALID error listing every distinct problem (at most MAX_LISTED_PROBLEMS of them). */
export function policyInvalid(problems: readonly SpecProblem[], hint = "fix the fields above and set the policy again; nothing was stored"): OrreryError {
  // In file order (zod reports a rule's fields in schema order), duplicates once.
  const { shown, distinct } = capProblemLines([...problems].sort((a, b) => a.line - b.line).map(formatProblem));
  return new OrreryError(ErrorCode.SPEC_INVALID, `policy refused, ${distinct} problem${distinct === 1 ? "" : "s"}:\n${shown.join("\n")}`, { hint });
}

function tooLarge(file: string, bytes: number): OrreryError {
  return policyInvalid([{ file, line: 0, path: "", message: `${bytes} bytes, over the ${MAX_POLICY_BYTES} a policy may have` }], "split the subscriptions over fewer, broader matches");
}

function validate(raw: unknown, at: ProblemLocator): Policy {
  const parsed = PolicySchema.safeParse(raw);
  if (!parsed.success) throw policyInvalid(zodProblems(at, parsed.error));
  return parsed.data;
}

export interface PolicyFile {
  policy: Policy;
  /** Locates a field path in the file, for problems found later (RSEs the policy's expressions select). */
  at: ProblemLocator;
}

/** Parses a policy YAML file; throws SPEC_INVALID listing every problem as `FILE:LINE: path: message`. */
export function parsePolicyYaml(file: string, text: string): PolicyFile {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_POLICY_BYTES) throw tooLarge(file, bytes);
  const doc = new PositionedYaml(file, text);
  const syntax = doc.syntaxProblems();
  // Fields of a file that does not parse cannot be located: its syntax comes first.
  if (syntax.length > 0) throw policyInvalid(syntax);
  return { policy: validate(doc.value(), doc), at: doc };
}

/** Parses the policy JSON of a request (untrusted): problems are `policy: path: message`. */
export function parsePolicyJson(text: string, what = "policy"): Policy {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_POLICY_BYTES) throw tooLarge(what, bytes);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw policyInvalid([{ file: what, line: 0, path: "", message: `not JSON: ${(err as Error).message}` }]);
  }
  return validate(raw, unlocated(what));
}
