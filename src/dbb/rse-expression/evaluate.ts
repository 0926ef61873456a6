// Evaluates a parsed RSE expression over the catalog's RSEs, as Rucio does.
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { storageTiers } from "../../common/wire-enums.js";
import type { RseExpression, RseLike } from "./ast.js";
import { parseRseExpression } from "./parse.js";

/** An RSE's attributes as expressions see them: its map, plus its site and tier. */
function attributeOf(rse: RseLike, key: string): string | undefined {
  if (key === "site") return rse.site;
  if (key === "tier") return storageTiers.name(rse.tier);
  return Object.hasOwn(rse.attributes, key) ? rse.attributes[key] : undefined;
}

function numberOf(text: string | undefined): number | undefined {
  if (text === undefined || !/^\s*-?\d+(\.\d+)?\s*$/.test(text)) return undefined;
  return Number(text);
}

function select(ast: RseExpression, rses: readonly RseLike[]): Set<string> {
  switch (ast.kind) {
    case "all":
      return new Set(rses.map((r) => r.name));
    case "term":
      // A name wins; only when no RSE has it is the word an attribute that must be `true`.
      if (rses.some((r) => r.name === ast.word)) return new Set([ast.word]);
      return new Set(rses.filter((r) => attributeOf(r, ast.word)?.toLowerCase() === "true").map((r) => r.name));
    case "attribute":
      return new Set(
        rses
          .filter((r) => {
            const value = attributeOf(r, ast.key);
            if (ast.op === "=") return value === ast.value;
            const n = numberOf(value);
            return n !== undefined && (ast.op === "<" ? n < ast.value : n > ast.value);
          })
          .map((r) => r.name),
      );
    case "union": {
      const right = select(ast.right, rses);
      return new Set([...select(ast.left, rses), ...right]);
    }
    case "intersection": {
      const right = select(ast.right, rses);
      return new Set([...select(ast.left, rses)].filter((n) => right.has(n)));
    }
    case "complement": {
      const right = select(ast.right, rses);
      return new Set([...select(ast.left, rses)].filter((n) => !right.has(n)));
    }
  }
}

/** The RSEs an expression selects, in the order given (possibly none). */
export function evaluate<R extends RseLike>(ast: RseExpression, rses: readonly R[]): R[] {
  const names = select(ast, rses);
  return rses.filter((r) => names.has(r.name));
}

/** Parses and evaluates; an expression that selects no RSE is a NOT_FOUND, distinct from one that does not parse. */
export function resolve<R extends RseLike>(expression: string, rses: readonly R[]): R[] {
  const selected = evaluate(parseRseExpression(expression), rses);
  if (selected.length === 0) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `rse expression "${expression}" selects no RSE (of ${rses.length})`, {
      hint: "check names and attributes with `orrery dbb rse list`",
    });
  }
  return selected;
}
