import { LineCounter, parseDocument, isMap, isNode, isScalar, isSeq, type Document } from "yaml";
import { ErrorCode, OrreryError } from "../../common/errors.js";

/** One problem in a campaign or pipeline file: `FILE:LINE: path.to.field: what is wrong`. */
export interface SpecProblem {
  file: string;
  /** 1-based; 0 for a problem that is not in a file (`--config`, `--priority`). */
  line: number;
  path: string;
  message: string;
}

export function formatProblem(p: SpecProblem): string {
  return `${p.file}${p.line > 0 ? `:${p.line}` : ""}: ${p.path === "" ? "(file)" : p.path}: ${p.message}`;
}

/** A YAML document that remembers where each field was written. */
export class PositionedYaml {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  syntaxProblems(): SpecProblem[] {
    // With prettyErrors off the errors carry offsets only; the line counter turns them into lines.
    return this.doc.errors.map((e) => ({
      file: this.file,
      line: this.lines.linePos(e.pos[0]).line,
      path: "",
      message: e.message.split("\n")[0] ?? e.message,
    }));
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
        const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(step));
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

  problem(path: readonly PropertyKey[], message: string): SpecProblem {
    return { file: this.file, line: this.lineOf(path), path: path.map(String).join("."), message };
  }
}

export function specInvalid(problems: SpecProblem[]): OrreryError {
  const lines = problems.map(formatProblem);
  return new OrreryError(ErrorCode.SPEC_INVALID, `campaign refused, ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${lines.join("\n")}`, {
    hint: "fix the fields above and submit again; nothing was stored",
  });
}
