// The DBB catalog: one object over two Redis connections — one for reads and
// plain writes, one reserved for WATCHed registration transactions.
import { Redis } from "ioredis";
import type { FileWithReplicas, Replica, ReplicaRegistration, Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { addRse, listRses } from "./rse-store.js";
import { ReplicaRegistrar, type RegisterResult } from "./replica-registrar.js";
import { validateRegistration } from "./registration.js";
import { filesPage, replicasOf } from "./replica-queries.js";

const log = createLogger("dbb-catalog");

/** Connects to Redis, or throws UNAVAILABLE naming where; reconnects on its own afterwards. */
export async function connectRedis(url: string, name: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  redis.on("error", (err: Error) => log.warn({ err: err.message }, "redis connection error"));
  try {
    await redis.connect();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw new OrreryError(ErrorCode.UNAVAILABLE, `cannot reach Redis at ${url}`, {
      cause: err,
      hint: "start redis-server (orrery local up) or point --redis / $ORRERY_REDIS at a running one",
    });
  }
}

export class Catalog {
  private readonly registrar: ReplicaRegistrar;

  private constructor(
    private readonly redis: Redis,
    private readonly writer: Redis,
  ) {
    this.registrar = new ReplicaRegistrar(writer);
  }

  static async open(redisUrl: string): Promise<Catalog> {
    const redis = await connectRedis(redisUrl, "dbb-catalog");
    try {
      return new Catalog(redis, await connectRedis(redisUrl, "dbb-registrar"));
    } catch (err) {
      redis.disconnect();
      throw err;
    }
  }

  addRse(rse: Rse): Promise<Rse> {
    return addRse(this.redis, rse);
  }

  listRses(site = ""): Promise<Rse[]> {
    return listRses(this.redis, site);
  }

  /** Validates every registration first: one bad entry refuses the whole batch. */
  register(registrations: readonly ReplicaRegistration[]): Promise<RegisterResult> {
    let valid;
    try {
      valid = registrations.map(validateRegistration);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.registrar.register(valid);
  }

  replicas(did: string): Promise<Replica[]> {
    return replicasOf(this.redis, did);
  }

  filesPage(scope: string, datasetTypes: readonly string[], pageToken: string, pageSize: number): Promise<{ files: FileWithReplicas[]; nextPageToken: string }> {
    return filesPage(this.redis, scope, datasetTypes, pageToken, pageSize);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.redis.quit(), this.writer.quit()]);
  }
}
