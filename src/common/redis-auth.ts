// Redis's password ($ORRERY_REDIS_PASSWORD) for every connection, and its
// refusal told in our words: a wrong or missing password names Redis and the
// fix, not ioredis's "NOAUTH"/"WRONGPASS" text.
import type { Redis, RedisOptions } from "ioredis";
import { ErrorCode, OrreryError } from "./errors.js";

export const REDIS_PASSWORD_ENV = "ORRERY_REDIS_PASSWORD";

/** The password option of a Redis connection (none when $ORRERY_REDIS_PASSWORD is unset). */
export function redisAuth(password = process.env[REDIS_PASSWORD_ENV]): Pick<RedisOptions, "password"> {
  return password ? { password } : {};
}

/** Whether Redis refused the client: no password given where one is needed, or a wrong one. */
export function isRedisRefusal(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /\b(NOAUTH|WRONGPASS)\b/.test(err.message) || /invalid password|Authentication required/i.test(err.message);
}

/** UNAVAILABLE naming Redis: it refused our password (or wanted one). */
export function redisRefused(url: string, err: unknown): OrreryError {
  return new OrreryError(ErrorCode.UNAVAILABLE, `Redis at ${url} refused the connection: wrong or missing password`, {
    cause: err,
    hint: `give the cluster's Redis password in $${REDIS_PASSWORD_ENV} (cluster.json security.redisPassword)`,
  });
}

/**
 * Connects and pings, so a refused password shows now rather than on the first
 * command; ioredis reports the refusal only as an error event and then rejects
 * with "Connection is closed.", so the event is what tells it.
 */
export async function connectAuthenticated(redis: Redis, url: string): Promise<void> {
  let refusal: Error | undefined;
  const onError = (err: Error) => {
    if (isRedisRefusal(err)) refusal = err;
  };
  redis.on("error", onError);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    if (refusal !== undefined || isRedisRefusal(err)) throw redisRefused(url, refusal ?? err);
    throw err;
  } finally {
    redis.off("error", onError);
  }
}
