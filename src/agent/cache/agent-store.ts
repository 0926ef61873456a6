// The agent's one LMDB environment: the file cache (bytes + metadata) and the
// journal of leases in flight and results not yet acknowledged.
import { mkdirSync } from "node:fs";
import { open, type RootDatabase } from "lmdb";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { FileCache, type FileCacheOptions } from "./file-cache.js";
import { Journal } from "./journal.js";

export interface AgentStore {
  cache: FileCache;
  journal: Journal;
  close(): Promise<void>;
}

/** Opens (or creates) the store in `dir`; the cache keeps at most `cacheBudgetBytes`. */
export function openAgentStore(dir: string, cacheBudgetBytes: number, cacheOpts: FileCacheOptions = {}): AgentStore {
  let root: RootDatabase;
  try {
    mkdirSync(dir, { recursive: true });
    root = open({ path: dir, maxDbs: 8 });
  } catch (err) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `cannot open the agent cache at ${dir}`, {
      cause: err,
      hint: "give --cache-dir a writable directory that no other agent uses",
    });
  }
  const cache = new FileCache(root, cacheBudgetBytes, cacheOpts);
  const journal = new Journal(root);
  let closed: Promise<void> | undefined;
  return {
    cache,
    journal,
    close: () => (closed ??= root.close()),
  };
}
