// The ingest manifest (JSONL, one file per line, see CONTRACT.md), parsed
// with one schema. Every line is checked before anything is uploaded, and a
// refusal lists every problem as `FILE:LINE: field: what is wrong`.
import { isAbsolute } from "node:path";
import { z } from "../../common/zod.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { DataId } from "../../common/data-id.js";
import { capProblemLines, checkSize } from "../../common/untrusted-text.js";
import { DATASET_TYPE_PATTERN, SCOPE_PATTERN } from "../catalog/keys.js";

export interface ManifestEntry {
  /** 1-based line number in the manifest. */
  line: number;
  /** As written in the manifest: relative to its folder; also the file's DID name. */
  path: string;
  scope: string;
  datasetType: string;
  dataId: DataId;
  metadata: Record<string, unknown>;
  validFrom: string;
  validTo: string;
}

const NAME_RULE = "use letters, digits, '_', '.' and '-'";
const isoTime = z.iso.datetime({ offset: true, error: "expected an ISO 8601 time such as 2026-03-01T00:00:00Z, or null" });

const ManifestLineSchema = z.strictObject({
  path: z
    .string()
    .min(1, "must not be empty")
    .refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes(".."), "must be relative to the manifest's folder, without '..'"),
  scope: z.string().regex(SCOPE_PATTERN, `is not a valid scope: ${NAME_RULE}`),
  datasetType: z.string().regex(DATASET_TYPE_PATTERN, `is not a valid dataset type: ${NAME_RULE}`),
  dataId: z.record(z.string(), z.union([z.string(), z.number()])),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  validFrom: isoTime.nullable().optional(),
  validTo: isoTime.nullable().optional(),
});

const typeNames: Record<string, string> = {
  record: "an object",
  object: "an object",
  string: "a string",
  number: "a number",
  array: "an array",
};

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** `line` is the parsed line: zod does not carry the offending input in its issues. */
function describeIssue(issue: z.core.$ZodIssue, line: unknown): { field: string; message: string }[] {
  const field = issue.path.map(String).join(".");
  switch (issue.code) {
    case "invalid_type": {
      if (valueAt(line, issue.path) === undefined) return [{ field, message: "is required" }];
      return [{ field, message: `expected ${typeNames[issue.expected] ?? issue.expected}` }];
    }
    case "invalid_union":
      return [{ field, message: "expected a string or a number" }];
    case "unrecognized_keys":
      return issue.keys.map((k) => ({ field: [...issue.path.map(String), k].join("."), message: "is not a manifest field: remove it or fix its spelling" }));
    default:
      return [{ field, message: issue.message }];
  }
}

/** Parses manifest text; `source` names the file in messages. Throws SPEC_INVALID listing every problem. */
export function parseManifest(text: string, source: string): ManifestEntry[] {
  checkSize("manifest", source, Buffer.byteLength(text));
  const problems: string[] = [];
  const entries: ManifestEntry[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      problems.push(`${source}:${line}: not JSON (${(err as Error).message}): write one JSON object per line`);
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      problems.push(`${source}:${line}: expected a JSON object`);
      return;
    }
    const parsed = ManifestLineSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        for (const { field, message } of describeIssue(issue, value)) problems.push(`${source}:${line}: ${field}: ${message}`);
      }
      return;
    }
    const d = parsed.data;
    const validFrom = d.validFrom ?? "";
    const validTo = d.validTo ?? "";
    if (validFrom !== "" && validTo !== "" && Date.parse(validFrom) >= Date.parse(validTo)) {
      problems.push(`${source}:${line}: validTo: must be later than validFrom`);
      return;
    }
    const did = `${d.scope}:${d.path}`;
    const first = seen.get(did);
    if (first !== undefined) {
      problems.push(`${source}:${line}: path: ${did} is already on line ${first}`);
      return;
    }
    seen.set(did, line);
    entries.push({ line, path: d.path, scope: d.scope, datasetType: d.datasetType, dataId: d.dataId, metadata: d.metadata ?? {}, validFrom, validTo });
  });
  if (problems.length > 0) {
    // A manifest of a million bad lines is told in the first fifty.
    throw new OrreryError(ErrorCode.SPEC_INVALID, `${source} is refused, nothing was ingested:\n${capProblemLines(problems).shown.join("\n")}`, {
      hint: "fix the lines above and run the ingest again",
    });
  }
  if (entries.length === 0) {
    throw new OrreryError(ErrorCode.SPEC_INVALID, `${source} lists no files`, { hint: "write one JSON object per file, see `orrery dbb ingest --help`" });
  }
  return entries;
}
