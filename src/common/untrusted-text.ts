// Checks made on a user's file before any parser sees it. A parser recurses
// once per nesting level: a few hundred nested `[` in a tiny campaign file
// exhausted the stack inside V8's regexp compiler (a fatal OOM, not a
// catchable error) and killed the coordinator. So size and depth are measured
// here with a flat, linear scan, and a file over a cap is refused with exit 2.
import { ErrorCode, OrreryError } from "./errors.js";

/** The kinds of untrusted files, each with its own size cap. */
export const FILE_CAPS = {
  campaign: { what: "a campaign file", bytes: 1024 * 1024 },
  pipeline: { what: "a pipeline file", bytes: 1024 * 1024 },
  policy: { what: "a site policy", bytes: 256 * 1024 },
  manifest: { what: "a manifest", bytes: 256 * 1024 * 1024 },
} as const;
export type UntrustedKind = keyof typeof FILE_CAPS;

/** Levels of nesting (block indentation plus flow brackets) a YAML file may have. */
export const MAX_NESTING_DEPTH = 64;
/** How many nodes aliases may expand to (yaml's maxAliasCount): an alias bomb is refused. */
export const MAX_ALIAS_COUNT = 100;
/** Problems listed in one refusal; more are counted, not shown. */
export const MAX_LISTED_PROBLEMS = 50;

/** Throws SPEC_INVALID (exit 2) naming the cap and the size when `bytes` is over the cap of `kind`. */
export function checkSize(kind: UntrustedKind, file: string, bytes: number): void {
  const cap = FILE_CAPS[kind];
  if (bytes <= cap.bytes) return;
  throw new OrreryError(ErrorCode.SPEC_INVALID, `${file}: ${bytes} bytes, over the size cap of ${cap.bytes} bytes on ${cap.what}; nothing was read further`, {
    hint: "split it or make it smaller",
  });
}

/** Distinct lines in their order, at most MAX_LISTED_PROBLEMS of them, then `… and N more`. */
export function capProblemLines(lines: readonly string[]): { shown: string[]; distinct: number } {
  const distinct = [...new Set(lines)];
  const shown = distinct.slice(0, MAX_LISTED_PROBLEMS);
  if (distinct.length > shown.length) shown.push(`… and ${distinct.length - shown.length} more`);
  return { shown, distinct: distinct.length };
}

/** Where a YAML text first nests deeper than `cap`: its 1-based line and depth; undefined when it does not. */
export function yamlDepthOver(text: string, cap = MAX_NESTING_DEPTH): { line: number; depth: number } | undefined {
  // Block levels are the stack of indentations (each `- ` or `? ` marker is a
  // level of its own); flow levels count brackets outside quotes and comments.
  // Over-counting a stray bracket in a plain scalar only costs a level or two.
  const indents: number[] = [];
  let flow = 0;
  let quote: "" | "'" | '"' = "";
  let blockScalarIndent = -1; // inside a `|` or `>` scalar: lines indented deeper than this are text
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const row = text.slice(start, end);
    start = end + 1;
    line++;
    let col = 0;
    while (col < row.length && (row[col] === " " || row[col] === "\t")) col++;
    const blank = col === row.length || row[col] === "#" || row[col] === "\r";
    if (blockScalarIndent >= 0) {
      if (blank || col > blockScalarIndent) continue;
      blockScalarIndent = -1;
    }
    if (quote === "" && flow === 0 && !blank) {
      while (indents.length > 0 && indents[indents.length - 1]! >= col) indents.pop();
      indents.push(col);
      // `- - - x` nests one level per marker on the same line.
      let c = col;
      while ((row[c] === "-" || row[c] === "?") && (row[c + 1] === " " || c + 1 === row.length)) {
        c += 2;
        while (row[c] === " ") c++;
        indents.push(c);
      }
    }
    let lastToken = "";
    for (let i = col; i < row.length; i++) {
      const ch = row[i]!;
      if (quote !== "") {
        if (ch === "\\" && quote === '"') i++;
        else if (ch === quote) {
          if (quote === "'" && row[i + 1] === "'") i++;
          else quote = "";
        }
        continue;
      }
      const prev = i === 0 ? " " : row[i - 1]!;
      const atTokenStart = prev === " " || prev === "\t" || prev === "[" || prev === "{" || prev === ",";
      if (ch === "#" && (prev === " " || prev === "\t" || i === 0)) break;
      if ((ch === "'" || ch === '"') && atTokenStart) quote = ch;
      else if (ch === "[" || ch === "{") {
        flow++;
        if (indents.length + flow > cap) return { line, depth: indents.length + flow };
      } else if ((ch === "]" || ch === "}") && flow > 0) flow--;
      if (ch !== " " && ch !== "\t") lastToken = ch;
    }
    if (indents.length + flow > cap) return { line, depth: indents.length + flow };
    // A block scalar header (`key: |`, `- >-`) ends its line; the text below it is not structure.
    if (quote === "" && flow === 0 && /(^|[\s:-])[|>][0-9+-]*\s*(#.*)?$/.test(row) && lastToken !== "") blockScalarIndent = col;
  }
  return undefined;
}

/** The problem message for a file nested over the cap. */
export function depthMessage(depth: number): string {
  return `nested at least ${depth} levels deep, over the cap of ${MAX_NESTING_DEPTH} levels of nesting`;
}
