// Tokenizer and recursive-descent parser for RSE expressions:
//   expression := primary (("|" | "&" | "\") primary)*
//   primary    := "(" expression ")" | "*" | WORD | WORD ("=" | "<" | ">") WORD
// Operators are read left to right with equal precedence, as in Rucio.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { RseExpression, RseSetOperator } from "./ast.js";

type Token =
  | { readonly kind: "word"; readonly text: string; readonly column: number }
  | { readonly kind: "set"; readonly text: "|" | "&" | "\\"; readonly column: number }
  | { readonly kind: "compare"; readonly text: "=" | "<" | ">"; readonly column: number }
  | { readonly kind: "(" | ")" | "*"; readonly text: string; readonly column: number }
  | { readonly kind: "bad"; readonly text: string; readonly column: number }
  | { readonly kind: "end"; readonly text: ""; readonly column: number };

const WORD = /[A-Za-z0-9_.:-]/;
const SET_OPERATORS: Record<"|" | "&" | "\\", RseSetOperator> = { "|": "union", "&": "intersection", "\\": "complement" };
const NUMBER = /^-?\d+(\.\d+)?$/;
/** Caps on untrusted input: no expression an operator writes comes near them, and none can exhaust the stack. */
const MAX_LENGTH = 4096;
const MAX_DEPTH = 64;

/** Tokens with 1-based columns; a character outside the grammar becomes a `bad` token for the parser to report. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const column = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (WORD.test(c)) {
      let j = i;
      while (j < source.length && WORD.test(source[j]!)) j++;
      tokens.push({ kind: "word", text: source.slice(i, j), column });
      i = j;
    } else {
      if (c === "|" || c === "&" || c === "\\") tokens.push({ kind: "set", text: c, column });
      else if (c === "=" || c === "<" || c === ">") tokens.push({ kind: "compare", text: c, column });
      else if (c === "(" || c === ")" || c === "*") tokens.push({ kind: c, text: c, column });
      else tokens.push({ kind: "bad", text: c, column });
      i++;
    }
  }
  tokens.push({ kind: "end", text: "", column: source.length + 1 });
  return tokens;
}

/** Parses an RSE expression; a malformed one is an INVALID_ARGUMENT naming the column and what was expected there. */
export function parseRseExpression(source: string): RseExpression {
  if (source.length > MAX_LENGTH) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse expression of ${source.length} characters: at most ${MAX_LENGTH} are read`, { hint: "select with attributes (key=value) rather than listing RSEs one by one" });
  }
  const tokens = tokenize(source);
  let depth = 0;
  let at = 0;
  const peek = (): Token => tokens[at]!;
  const next = (): Token => tokens[at++]!;

  const fail = (token: Token, expected: string): never => {
    const found = token.kind === "end" ? "the end" : `"${token.text}"`;
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse expression "${source}": column ${token.column}: expected ${expected}, found ${found}`, {
      hint: 'write terms like NAME, key=value, key<n, key>n or *, joined by | (union), & (intersection) or \\ (complement), e.g. "site=site-a&tier=disk"',
    });
  };

  const TERM = 'an RSE name, key=value, key<n, key>n, "*" or "("';

  function expression(): RseExpression {
    let left = primary();
    for (let t = peek(); t.kind === "set"; t = peek()) {
      next();
      left = { kind: SET_OPERATORS[t.text], left, right: primary() };
    }
    return left;
  }

  function primary(): RseExpression {
    const t = next();
    if (t.kind === "*") return { kind: "all" };
    if (t.kind === "(") {
      if (++depth > MAX_DEPTH) return fail(t, `at most ${MAX_DEPTH} nested parentheses`);
      const inner = expression();
      depth--;
      const close = peek();
      if (close.kind !== ")") return fail(close, '")" or an operator (|, &, \\)');
      next();
      return inner;
    }
    if (t.kind !== "word") return fail(t, TERM);
    const op = peek();
    if (op.kind !== "compare") return { kind: "term", word: t.text };
    next();
    const value = next();
    if (value.kind !== "word") return fail(value, `a value after "${t.text}${op.text}"`);
    if (op.text === "=") return { kind: "attribute", key: t.text, op: "=", value: value.text };
    if (!NUMBER.test(value.text)) return fail(value, `a number after "${t.text}${op.text}"`);
    return { kind: "attribute", key: t.text, op: op.text, value: Number(value.text) };
  }

  const ast = expression();
  const rest = peek();
  if (rest.kind !== "end") fail(rest, rest.kind === ")" ? 'an operator (|, &, \\) or the end (this ")" has no "(")' : "an operator (|, &, \\) or the end");
  return ast;
}
