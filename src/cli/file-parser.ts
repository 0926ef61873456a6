// The CLI reads a user's policy or manifest in a worker thread with memory
// and time limits, so a hostile file is refused with exit 2 instead of
// crashing or hanging the command (see DESIGN.md, "Untrusted input").
import { DEFAULT_PARSE_LIMITS, DEFAULT_PARSE_TIMEOUT_MS, ParsePool } from "../common/parse-pool.js";
import type { ProblemLocator } from "../common/yaml-problems.js";
import type { ManifestEntry, Policy } from "../dbb/index.js";

const pools = new Map<"policy" | "manifest", ParsePool>();

/** A command reads one file: its worker is stopped after, or the process would stay up for it. */
async function runOnce<T>(kind: "policy" | "manifest", input: { file: string; text: string }): Promise<T> {
  try {
    return await poolFor(kind).run<T>(kind, input);
  } finally {
    const pool = pools.get(kind);
    pools.delete(kind);
    await pool?.close();
  }
}

/** A manifest may list a million files: more heap and time than a policy, still bounded. */
const LIMITS = {
  policy: { limits: DEFAULT_PARSE_LIMITS, timeoutMs: DEFAULT_PARSE_TIMEOUT_MS },
  manifest: { limits: { ...DEFAULT_PARSE_LIMITS, maxOldGenerationSizeMb: 2048 }, timeoutMs: 300_000 },
} as const;

function poolFor(kind: "policy" | "manifest"): ParsePool {
  let pool = pools.get(kind);
  if (pool === undefined) {
    pool = new ParsePool({ entry: new URL("./file-parse-worker.js", import.meta.url), size: 1, ...LIMITS[kind] });
    pools.set(kind, pool);
  }
  return pool;
}

/** Where the fields a later check may report on are in the file (file-parse-worker.ts). */
function tableLocator(file: string, lines: Record<string, number>): ProblemLocator {
  return {
    problem: (path, message) => {
      const key = path.map(String).join(".");
      return { file, line: lines[key] ?? 0, path: key, message };
    },
  };
}

/** parsePolicyYaml off the event loop; throws SPEC_INVALID listing every problem, or naming a cap. */
export async function parsePolicyFileIsolated(file: string, text: string): Promise<{ policy: Policy; at: ProblemLocator }> {
  const { policy, lines } = await runOnce<{ policy: Policy; lines: Record<string, number> }>("policy", { file, text });
  return { policy, at: tableLocator(file, lines) };
}

/** parseManifest off the event loop. */
export function parseManifestIsolated(text: string, source: string): Promise<ManifestEntry[]> {
  return runOnce<ManifestEntry[]>("manifest", { file: source, text });
}
