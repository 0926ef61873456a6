// A Redis MULTI/EXEC answers per command: a transaction whose commands failed
// one by one still "succeeds". Every write transaction goes through this.
import { ErrorCode, OrreryError } from "./errors.js";

/** Throws UNAVAILABLE when a transaction was discarded (null) or any of its commands failed. */
export function checkReplies(replies: [Error | null, unknown][] | null): void {
  if (replies === null) throw new OrreryError(ErrorCode.UNAVAILABLE, "a Redis transaction was discarded", { hint: "check the Redis server and try again" });
  for (const [err] of replies) if (err) throw redisWriteError(err);
}

export function redisWriteError(err: unknown): OrreryError {
  const message = err instanceof Error ? err.message : String(err);
  return new OrreryError(ErrorCode.UNAVAILABLE, `a Redis write failed: ${message}`, { cause: err, hint: "check the Redis server (memory, disk for its AOF) and try again" });
}
