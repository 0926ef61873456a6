// Mutations of a valid file, as a careless or hostile user could make them:
// lines dropped, duplicated and swapped, values replaced by junk, broken
// indentation, huge and deep structures, alias bombs and binary bytes.
import type { Random } from "./random.js";

const JUNK = ["", "~", "null", "[", "]", "{", "}", "&a", "*a", "*nope", "!!binary AAAA", "!custom x", "0x", "1e999", "-1", "NaN", "-", "? x", "'", '"unterminated', "|", ">-", "%YAML 1.1", "---", "...", "@", "`", "\t", "\u0000", "\ufeff", "\ud800", "é漢字", "x".repeat(2000), "[a, {b: [c, {d: e}]}]", "{a: 1, a: 2}", "<<: *a"];

function lines(text: string): string[] {
  return text.split("\n");
}

/** Deep flow collections: the shape that crashed V8's regexp compiler near 817 levels. */
function deepFlow(r: Random): string {
  const n = r.pick([20, 63, 65, 200, 817, r.int(1, 3000)]);
  const open = r.chance(0.5) ? "[" : r.chance(0.5) ? "{a: " : "[{a: ";
  const close = open === "[" ? "]" : open === "{a: " ? "}" : "}]";
  return open.repeat(n) + (r.chance(0.5) ? " x y , 'q  ' " : "") + (r.chance(0.8) ? close.repeat(n) : "");
}

function deepBlock(r: Random): string {
  const n = r.pick([30, 70, r.int(1, 400)]);
  return r.chance(0.5) ? Array.from({ length: n }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n") + " x" : `${"- ".repeat(n)}x`;
}

export function aliasBomb(r: Random): string {
  const width = r.int(3, 10);
  const levels = r.int(3, 9);
  const out = [`a0: &a0 [${Array(width).fill("lol").join(", ")}]`];
  for (let i = 1; i <= levels; i++) out.push(`a${i}: &a${i} [${Array(width).fill(`*a${i - 1}`).join(", ")}]`);
  return out.join("\n");
}

function huge(r: Random, json: boolean): string {
  const n = r.pick([100, 1000, r.int(1, 5000)]);
  if (json) return JSON.stringify({ path: "x", scope: "hsc", datasetType: "raw", dataId: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) });
  return r.chance(0.5) ? `[${Array.from({ length: n }, (_, i) => i).join(", ")}]` : `\n${Array.from({ length: n }, (_, i) => `  k${i}: ${i}`).join("\n")}`;
}

type Mutator = (text: string, r: Random) => string;

const lineMutators: Mutator[] = [
  // A line dropped.
  (t, r) => {
    const ls = lines(t);
    ls.splice(r.int(0, ls.length - 1), 1);
    return ls.join("\n");
  },
  // A line duplicated, once or a hundred times (duplicate keys, repeated errors).
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    ls.splice(i, 0, ...Array<string>(r.pick([1, 1, 5, 100])).fill(ls[i]!));
    return ls.join("\n");
  },
  // Two lines swapped.
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    const j = r.int(0, ls.length - 1);
    [ls[i], ls[j]] = [ls[j]!, ls[i]!];
    return ls.join("\n");
  },
  // Indentation broken: spaces added or removed, or a tab.
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    const l = ls[i]!;
    ls[i] = r.chance(0.3) ? `\t${l}` : r.chance(0.5) ? " ".repeat(r.int(1, 9)) + l : l.replace(/^ {1,4}/, "");
    return ls.join("\n");
  },
  // Cut off anywhere.
  (t, r) => t.slice(0, r.int(0, t.length)),
];

const valueMutators: Mutator[] = [
  // A value replaced by junk.
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    ls[i] = ls[i]!.replace(/(:\s*|,\s*|\[\s*)[^,\]}\n]*/, `$1${r.pick(JUNK)}`);
    return ls.join("\n");
  },
  // A value replaced by a deep flow collection.
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    ls[i] = ls[i]!.replace(/:\s.*$/, `: ${deepFlow(r)}`);
    return ls.join("\n");
  },
  (t, r) => `${t}\n${deepBlock(r)}\n`,
  (t, r) => (r.chance(0.5) ? `${aliasBomb(r)}\n${t}` : `${t}\n${aliasBomb(r)}\nbomb: *a${r.int(3, 9)}\n`),
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    ls[i] = ls[i]!.replace(/:\s.*$/, `: ${huge(r, false)}`);
    return ls.join("\n");
  },
  // Binary bytes inserted anywhere.
  (t, r) => {
    const at = r.int(0, t.length);
    return t.slice(0, at) + r.bytes(r.int(1, 64)) + t.slice(at);
  },
];

const jsonMutators: Mutator[] = [
  // A JSON line given a deep array, a huge object, a wrong type or junk.
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    const depth = r.pick([10, 1000, 20_000]);
    ls[i] = ls[i]!.replace(/"dataId":/, `"dataId":${"[".repeat(depth)}${"]".repeat(depth)},"x":`);
    return ls.join("\n");
  },
  (t, r) => `${t}\n${huge(r, true)}`,
  (t, r) => {
    const ls = lines(t);
    const i = r.int(0, ls.length - 1);
    ls[i] = ls[i]!.replace(/:("[^"]*"|\d+|null|\{[^}]*\})/, `:${r.pick(["1", "null", "[]", "{}", '"../x"', '"/abs"', '"a b"', "true", '"2026-13-45"', "1e400", `"${r.bytes(8).replace(/["\\]/g, "")}"`])}`);
    return ls.join("\n");
  },
];

/** One mutated file of `kind`, 1–3 mutations deep. */
export function mutate(seed: string, kind: "yaml" | "jsonl", r: Random): string {
  const pool = kind === "yaml" ? [...lineMutators, ...valueMutators] : [...lineMutators, ...jsonMutators, valueMutators[valueMutators.length - 1]!];
  let text = seed;
  for (let n = r.int(1, 3); n > 0; n--) text = r.pick(pool)(text, r);
  return text;
}
