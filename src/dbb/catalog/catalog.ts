// The DBB catalog: one object over three Redis connections — one for reads and
// plain writes, one each for WATCHed registration and collection transactions.
import { Redis } from "ioredis";
import type { FileWithReplicas, Replica, ReplicaRegistration, Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError, isOrreryError } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { connectAuthenticated, redisAuth } from "../../common/redis-auth.js";
import { addRse, listRses } from "./rse-store.js";
import { ReplicaRegistrar, type RegisterResult } from "./replica-registrar.js";
import { validateRegistration } from "./registration.js";
import { filesPage, replicasPage } from "./replica-queries.js";
import { Collections, type CollectionChange } from "./collections.js";
import { contentsPage, listScopes, type ContentsPage } from "./collection-queries.js";
import type { DidType } from "./keys.js";

const log = createLogger("dbb-catalog");

/** Connects to Redis, or throws UNAVAILABLE naming where; reconnects on its own afterwards. */
export async function connectRedis(url: string, name: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: 3,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...redisAuth(),
  });
  redis.on("error", (err: Error) => log.warn({ err: err.message }, "redis connection error"));
  try {
    await connectAuthenticated(redis, url);
    return redis;
  } catch (err) {
    redis.disconnect();
    if (isOrreryError(err)) throw err;
    throw new OrreryError(ErrorCode.UNAVAILABLE, `cannot reach Redis at ${url}`, {
      cause: err,
      hint: "start redis-server (orrery local up) or point --redis / $ORRERY_REDIS at a running one",
    });
  }
}

/**
 * Called after a change to a collection is stored, with the children it
 * actually added or removed (files of a DATASET, collections of a CONTAINER):
 * Rucio re-evaluates the rules of a DID and its parents on ATTACH and DETACH,
 * so the rule engine gives new files their locks here. Errors are logged.
 */
export interface CollectionHooks {
  onAttached?: (parentDid: string, childDids: string[]) => void | Promise<void>;
  onDetached?: (parentDid: string, childDids: string[]) => void | Promise<void>;
}

export class Catalog {
  private readonly registrar: ReplicaRegistrar;
  private readonly collections: Collections;

  private constructor(
    private readonly redis: Redis,
    private readonly writer: Redis,
    private readonly collectionWriter: Redis,
    private readonly hooks: CollectionHooks,
  ) {
    this.registrar = new ReplicaRegistrar(writer);
    this.collections = new Collections(collectionWriter);
  }

  static async open(redisUrl: string, hooks: CollectionHooks = {}): Promise<Catalog> {
    const opened: Redis[] = [];
    try {
      for (const name of ["dbb-catalog", "dbb-registrar", "dbb-collections"]) opened.push(await connectRedis(redisUrl, name));
      const [redis, writer, collectionWriter] = opened as [Redis, Redis, Redis];
      return new Catalog(redis, writer, collectionWriter, hooks);
    } catch (err) {
      for (const r of opened) r.disconnect();
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
  async register(registrations: readonly ReplicaRegistration[]): Promise<RegisterResult> {
    const result = await this.registrar.register(registrations.map(validateRegistration));
    for (const change of result.attached) await this.notify("onAttached", change);
    return result;
  }

  /** One page of the replicas of a file, or of the files at or below a collection. */
  replicas(did: string, pageToken = "", pageSize = 0): Promise<{ replicas: Replica[]; nextPageToken: string }> {
    return replicasPage(this.redis, did, pageToken, pageSize);
  }

  /** Attaches DIDs to a collection (made if absent); returns the DIDs newly attached. */
  async attach(parent: string, children: readonly string[]): Promise<string[]> {
    const change = await this.collections.attach(parent, children);
    await this.notify("onAttached", change);
    return change.children;
  }

  async detach(parent: string, children: readonly string[]): Promise<string[]> {
    const change = await this.collections.detach(parent, children);
    await this.notify("onDetached", change);
    return change.children;
  }

  contents(did: string, pageToken = "", pageSize = 0): Promise<ContentsPage> {
    return contentsPage(this.redis, did, pageToken, pageSize);
  }

  closeCollection(did: string): Promise<{ did: string; type: DidType }> {
    return this.collections.close(did);
  }

  scopes(): Promise<string[]> {
    return listScopes(this.redis);
  }

  /** The change is stored whatever the hook does: its failure is logged, not returned to the caller. */
  private async notify(hook: keyof CollectionHooks, change: CollectionChange): Promise<void> {
    const fn = this.hooks[hook];
    if (!fn || change.children.length === 0) return;
    try {
      await fn(change.parent, change.children);
    } catch (err) {
      log.error({ err, hook, parent: change.parent, children: change.children.length }, "collection hook failed");
    }
  }

  filesPage(scope: string, datasetTypes: readonly string[], pageToken: string, pageSize: number): Promise<{ files: FileWithReplicas[]; nextPageToken: string }> {
    return filesPage(this.redis, scope, datasetTypes, pageToken, pageSize);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.redis.quit(), this.writer.quit(), this.collectionWriter.quit()]);
  }
}
