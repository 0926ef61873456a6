// zod, with Orrery's own wording for every issue a schema does not word itself.
// zod's generic texts ("Invalid key in record", "Invalid input: expected
// string, received number", "Unrecognized key: …") say neither what the field
// is for nor how to fix it. Every module that defines a schema imports z from
// here, so the wording below is installed wherever a schema can be parsed
// (worker threads included). A field's own message (`.regex(RE, "…")`) wins.
import { z } from "zod";

type Issue = z.core.$ZodRawIssue;

/** How a value of a zod type is named in a message. */
const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a map of fields",
  array: "a list",
  record: "a map",
  bigint: "a whole number",
  date: "a date",
  null: "null",
  undefined: "nothing",
  nan: "not a number",
  map: "a map",
  set: "a list",
  symbol: "a symbol",
  function: "a function",
};

/** The kind of value a user wrote, as words. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "number") return Number.isInteger(v) ? `the number ${v}` : `the number ${v}`;
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === "boolean") return String(v);
  if (typeof v === "object") return "a map";
  return typeof v;
}

function typeWord(expected: string): string {
  return TYPE_WORDS[expected] ?? expected;
}

function sizeMessage(iss: Issue & { code: "too_small" | "too_big" }): string {
  const small = iss.code === "too_small";
  const limit = small ? iss.minimum : iss.maximum;
  const inclusive = iss.inclusive !== false;
  const bound = small ? (inclusive ? "at least" : "more than") : inclusive ? "at most" : "less than";
  switch (iss.origin) {
    case "string":
      return `must be ${bound} ${String(limit)} character${Number(limit) === 1 ? "" : "s"} long`;
    case "array":
    case "set":
      return Number(limit) === 1 && small ? "must list at least one item" : `must list ${bound} ${String(limit)} item${Number(limit) === 1 ? "" : "s"}`;
    default:
      return `must be ${bound} ${String(limit)}`;
  }
}

/** Orrery's message for an issue no schema worded (never zod's generic text). */
export function orreryIssueMessage(iss: Issue): string {
  switch (iss.code) {
    case "invalid_type":
      if (iss.input === undefined) return `is required (${typeWord(iss.expected)})`;
      return `must be ${typeWord(iss.expected)}, not ${describeValue(iss.input)}`;
    case "too_small":
    case "too_big":
      return sizeMessage(iss);
    case "invalid_value":
      if (iss.values.length === 1) return `must be ${JSON.stringify(iss.values[0])}`;
      return `must be one of ${iss.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      if (iss.format === "regex" && iss.pattern !== undefined) return `must match ${String(iss.pattern)}`;
      return `must be a valid ${iss.format}`;
    case "not_multiple_of":
      return `must be a multiple of ${String(iss.divisor)}`;
    case "unrecognized_keys":
      return `unknown field${iss.keys.length === 1 ? "" : "s"} ${iss.keys.join(", ")}; remove ${iss.keys.length === 1 ? "it" : "them"} or check the spelling`;
    case "invalid_key": {
      const inner = iss.issues.map((i) => i.message).filter((m) => m !== "");
      // The path ends at the key: its own rule is the message.
      return inner.length > 0 ? inner.join("; ") : `is not an allowed key`;
    }
    case "invalid_element": {
      const inner = iss.issues.map((i) => i.message).filter((m) => m !== "");
      return `an item is not allowed${inner.length > 0 ? `: ${inner.join("; ")}` : ""}`;
    }
    case "invalid_union":
      return `does not match any accepted form (got ${describeValue(iss.input)})`;
    case "custom":
      return `is not valid (got ${describeValue(iss.input)})`;
    default:
      return `is not valid (got ${describeValue((iss as { input?: unknown }).input)})`;
  }
}

z.config({ customError: (iss) => orreryIssueMessage(iss) });

export { z };
