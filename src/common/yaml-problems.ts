// Problems in a user's YAML file, each as `FILE:LINE: path.to.field: what is
// wrong`: the file is parsed keeping positions, a zod schema validates it, and
// every issue is located at the line of the deepest field the file has. Used
// for campaign files (coordinator) and site replication policies (CLI, dbb).
import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, visit, type Document, type Pair, type YAMLMap } from "yaml";
import type { z } from "./zod.js";
import { MAX_ALIAS_COUNT, depthMessage, yamlDepthOver } from "./untrusted-text.js";

/** One problem in a file: `FILE:LINE: path.to.field: what is wrong`. */
export interface SpecProblem {
  file: string;
  /** 1-based; 0 for a problem that is not in a file (`--config`, `--priority`, a request body). */
  line: number;
  path: string;
  message: string;
}

export function formatProblem(p: SpecProblem): string {
  return `${p.file}${p.line > 0 ? `:${p.line}` : ""}: ${p.path === "" ? "(file)" : p.path}: ${p.message}`;
}

/** Turns a field path into a located problem. */
export interface ProblemLocator {
  problem(path: readonly PropertyKey[], message: string): SpecProblem;
}

/** A YAML document that remembers where each field was written. */
export class PositionedYaml implements ProblemLocator {
  readonly doc: Document;
  private readonly lines = new LineCounter();
  /** A cap the text is over (nesting, alias expansion): the file is refused on it alone. */
  private capProblem: SpecProblem | undefined;
  private js: { value: unknown } | undefined;
  /** Each map's pairs by key, built on first use: locating N problems stays linear. */
  private readonly keyIndex = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    readonly file: string,
    text: string,
  ) {
    // Measured before parsing: the parser recurses per level, and too deep a
    // file crashes the process instead of throwing (see untrusted-text.ts).
    const deep = yamlDepthOver(text);
    if (deep !== undefined) {
      this.capProblem = { file, line: deep.line, path: "", message: depthMessage(deep.depth) };
      this.doc = parseDocument("", { lineCounter: this.lines });
      return;
    }
    // yaml's own duplicate-key check compares every key with every other
    // (20 s for a 700 KB map); duplicateKeyProblems does it in one pass.
    try {
      this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: false });
    } catch (err) {
      // The depth scan is an estimate: a shape it misses can still exhaust the parser's stack. A refusal, never a crash.
      if (!(err instanceof RangeError)) throw err;
      this.capProblem = { file, line: 1, path: "", message: "the file nests deeper than the parser can follow (it ran out of stack); flatten its structure" };
      this.doc = parseDocument("", { lineCounter: this.lines });
    }
  }

  /** Each key written a second time in the same map, at the second, as yaml words it. */
  private duplicateKeyProblems(): SpecProblem[] {
    const problems: SpecProblem[] = [];
    visit(this.doc, {
      Map: (_, map) => {
        const seen = new Set<unknown>();
        for (const pair of map.items) {
          if (!isScalar(pair.key)) continue;
          if (!seen.has(pair.key.value)) seen.add(pair.key.value);
          else problems.push({ file: this.file, line: this.lines.linePos(pair.key.range?.[0] ?? 0).line, path: "", message: "Map keys must be unique" });
        }
      },
    });
    return problems;
  }

  syntaxProblems(): SpecProblem[] {
    if (this.capProblem) return [this.capProblem];
    // With prettyErrors off the errors carry offsets only; the line counter turns them into lines.
    const syntax = this.doc.errors.map((e) => ({
      file: this.file,
      line: this.lines.linePos(e.pos[0]).line,
      path: "",
      message: e.message.split("\n")[0] ?? e.message,
    }));
    if (syntax.length > 0) return syntax;
    const duplicates = this.duplicateKeyProblems();
    if (duplicates.length > 0) return duplicates;
    this.value();
    return this.capProblem ? [this.capProblem] : [];
  }

  /** The document as plain JS; an alias bomb is a problem (see syntaxProblems), its value undefined. */
  value(): unknown {
    if (this.js) return this.js.value;
    try {
      this.js = { value: this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
    } catch (err) {
      // yaml throws a ReferenceError when aliases expand past maxAliasCount, a RangeError when its recursion runs out of stack; anything else is ours.
      if (err instanceof RangeError) {
        this.capProblem = { file: this.file, line: 1, path: "", message: "the file nests deeper than the parser can follow (it ran out of stack); flatten its structure" };
        this.js = { value: undefined };
        return undefined;
      }
      if (!(err instanceof ReferenceError)) throw err;
      this.capProblem = { file: this.file, line: 1, path: "", message: `aliases expand to more than ${MAX_ALIAS_COUNT} nodes, over the cap on alias expansion` };
      this.js = { value: undefined };
    }
    return this.js.value;
  }

  /**
   * The line of the deepest field along `path` that the file has (1-based):
   * the line of its key in a map (a block value starts on the next line), of
   * the item in a list.
   */
  lineOf(path: readonly PropertyKey[]): number {
    let best = 1;
    let node: unknown = this.doc.contents;
    for (const step of path) {
      if (isMap(node)) {
        const pair = this.pairsOf(node).get(String(step));
        if (!pair) break;
        if (isNode(pair.key) && pair.key.range) best = this.lines.linePos(pair.key.range[0]).line;
        node = pair.value;
      } else if (isSeq(node)) {
        const item: unknown = node.items[Number(step)];
        if (!isNode(item)) break;
        if (item.range) best = this.lines.linePos(item.range[0]).line;
        node = item;
      } else break;
    }
    return best;
  }

  private pairsOf(map: YAMLMap): Map<string, Pair> {
    let index = this.keyIndex.get(map);
    if (index === undefined) {
      index = new Map();
      // The first pair of a key wins, as a linear search would find it.
      for (const p of map.items) {
        const key = String(isScalar(p.key) ? p.key.value : p.key);
        if (!index.has(key)) index.set(key, p);
      }
      this.keyIndex.set(map, index);
    }
    return index;
  }

  problem(path: readonly PropertyKey[], message: string): SpecProblem {
    return { file: this.file, line: this.lineOf(path), path: path.map(String).join("."), message };
  }
}

/** Problems of something that is not a file (a JSON request body): `NAME: path: message`. */
export function unlocated(file: string): ProblemLocator {
  return { problem: (path, message) => ({ file, line: 0, path: path.map(String).join("."), message }) };
}

/** Every zod issue as a located problem; unknown keys one each, a union by its closest branch. */
export function zodProblems(doc: ProblemLocator, error: z.ZodError): SpecProblem[] {
  const problems: SpecProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) problems.push(doc.problem([...issue.path, key], "unknown field"));
    } else if (issue.code === "invalid_key" && issue.issues.length > 0) {
      // A map key the schema refuses: the key's own rule, at the key (zod's text is "Invalid key in record").
      for (const inner of issue.issues) problems.push(doc.problem(issue.path, inner.message));
    } else if (issue.code === "invalid_union") {
      // Report the branch that got furthest, not "invalid input".
      const best = issue.errors.map((errs) => errs).sort((a, b) => a.length - b.length)[0];
      if (best && best.length > 0) for (const e of best) problems.push(doc.problem([...issue.path, ...e.path], e.message));
      else problems.push(doc.problem(issue.path, issue.message));
    } else {
      problems.push(doc.problem(issue.path, issue.message));
    }
  }
  return problems;
}
