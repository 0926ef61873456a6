// Quantum definitions in chunks: hash field "<n>" holds a JSON array of up to
// CHUNK definitions. One HSET per chunk instead of one per quantum keeps the
// per-command cost of the client and the server out of a million-quantum
// submit; only definition fields are written (progress and downstream are not
// part of what a quantum is).
import type { Redis } from "ioredis";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { QuantumDefinition } from "../workload/model.js";

/** Definitions per chunk. */
export const CHUNK = 2000;
/** Chunks per pipeline (and per HMGET when loading): bounds the JSON held at once. */
const CHUNKS_PER_ROUND = 8;

/**
 * Writes the definitions as chunks numbered from `first`; returns the number
 * after the last one written. The JSON of the next round is made while Redis
 * takes the previous one, with at most two rounds out at a time.
 */
export async function writeChunks(redis: Redis, key: string, first: number, definitions: readonly QuantumDefinition[]): Promise<number> {
  let n = first;
  let inFlight: Promise<void> | undefined;
  const round = CHUNK * CHUNKS_PER_ROUND;
  for (let i = 0; i < definitions.length; i += round) {
    const p = redis.pipeline();
    const end = Math.min(definitions.length, i + round);
    for (let j = i; j < end; j += CHUNK) p.hset(key, String(n++), chunkJson(definitions, j, Math.min(end, j + CHUNK)));
    await inFlight;
    inFlight = p.exec().then(checkReplies);
  }
  await inFlight;
  return n;
}

/** The definitions in chunks 0..count-1, in order. */
export async function readChunks(redis: Redis, key: string, count: number, campaign: string): Promise<QuantumDefinition[]> {
  const out: QuantumDefinition[] = [];
  const fetch = (from: number) => {
    const fields: string[] = [];
    for (let n = from; n < Math.min(count, from + CHUNKS_PER_ROUND); n++) fields.push(String(n));
    return redis.hmget(key, ...fields);
  };
  // The next round is asked for before this one is parsed.
  let next = count > 0 ? fetch(0) : undefined;
  for (let from = 0; from < count; from += CHUNKS_PER_ROUND) {
    const values = await next!;
    next = from + CHUNKS_PER_ROUND < count ? fetch(from + CHUNKS_PER_ROUND) : undefined;
    values.forEach((v, i) => {
      if (v === null) {
        throw new OrreryError(ErrorCode.INTERNAL, `campaign ${campaign}: chunk ${from + i} of its quanta is missing from Redis (${key})`, {
          hint: "the campaign's stored state is damaged; delete it from Redis and submit it again",
        });
      }
      for (const d of JSON.parse(v) as QuantumDefinition[]) out.push(d);
    });
  }
  return out;
}

/** JSON of definitions[from..to): the definition fields only. */
function chunkJson(definitions: readonly QuantumDefinition[], from: number, to: number): string {
  const chunk: QuantumDefinition[] = [];
  for (let i = from; i < to; i++) {
    const { id, campaign, task, dataId, identity, inputs, outputs, upstream } = definitions[i]!;
    chunk.push({ id, campaign, task, dataId, identity, inputs, outputs, upstream });
  }
  return JSON.stringify(chunk);
}

/** ioredis reports a failed command of a pipeline or transaction in its reply, not by rejecting: this throws it. */
export function checkReplies(replies: [Error | null, unknown][] | null): void {
  if (replies === null) throw new OrreryError(ErrorCode.UNAVAILABLE, "a Redis transaction was discarded", { hint: "check the Redis server and try again" });
  for (const [err] of replies) if (err) throw new OrreryError(ErrorCode.UNAVAILABLE, `a Redis write failed: ${err.message}`, { cause: err, hint: "check the Redis server (memory, disk for its AOF) and try again" });
}
