// Writes replica registrations to Redis. A batch is read, decided in memory
// and written in one MULTI/EXEC guarded by WATCH, so a registration is one
// atomic write even with several dbb processes; within a process batches go
// one at a time (WATCH belongs to the connection).
import type { Redis } from "ioredis";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { DidType, Keys, ReplicaState } from "./keys.js";
import { replicaPath, sameContent, type FileAttributes, type ValidRegistration } from "./registration.js";
import { rseFromHash } from "./rse-store.js";

export interface ReplicaEvent {
  did: string;
  rse: string;
  state: ReplicaState;
}

export interface RegisterResult {
  registered: number;
  /** Replicas whose state was written (new/updated AVAILABLE ones, others turned BAD). */
  events: ReplicaEvent[];
  /** File DIDs this registration created (their first registration): what site subscriptions apply to. */
  created: CreatedFile[];
}

/** A file DID as first registered; it is also in Keys.subscriptionPending until its subscriptions have run. */
export interface CreatedFile {
  did: string;
  scope: string;
  datasetType: string;
  /** JSON object, as stored. */
  metadata: string;
  originSite: string;
  /** When it was registered (ms), its score in Keys.subscriptionPending. */
  registeredAt: number;
}

interface DidState {
  type: string | undefined;
  content: { bytes: bigint; adler32: string; md5: string; datasetType: string } | undefined;
  rses: Set<string>;
}

interface ReplicaView {
  state: string;
  path: string;
  bytes: bigint;
  adler32: string;
  md5: string;
}

const MAX_ATTEMPTS = 20;

export class ReplicaRegistrar {
  private queue: Promise<unknown> = Promise.resolve();

  /** `redis` must be a connection of its own: WATCH state is per connection. */
  constructor(private readonly redis: Redis) {}

  register(regs: readonly ValidRegistration[]): Promise<RegisterResult> {
    const run = this.queue.then(() => this.registerWithRetry(regs));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async registerWithRetry(regs: readonly ValidRegistration[]): Promise<RegisterResult> {
    if (regs.length === 0) return { registered: 0, events: [], created: [] };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const result = await this.attempt(regs);
      if (result) return result;
    }
    throw new OrreryError(ErrorCode.UNAVAILABLE, `registration of ${regs.length} replicas kept conflicting with concurrent writers`, {
      hint: "retry the registration",
    });
  }

  /** One optimistic round: null when a watched key changed under us. */
  private async attempt(regs: readonly ValidRegistration[]): Promise<RegisterResult | null> {
    const r = this.redis;
    const fileDids = unique(regs.map((g) => `${g.file.scope}:${g.file.name}`));
    const collections = unique(regs.flatMap((g) => (g.collection ? [`${g.collection.scope}:${g.collection.name}`] : [])));
    const rseNames = unique(regs.map((g) => g.rse));
    const didKeys = [...fileDids, ...collections].map(didKey);
    const replicaKeys = unique(regs.map((g) => Keys.replica(g.rse, g.file.scope, g.file.name)));
    const watched = [...didKeys, ...fileDids.map((d) => rsesKey(d)), ...replicaKeys];
    await r.watch(...watched);
    try {
      const read = r.pipeline();
      for (const n of rseNames) read.hgetall(Keys.rse(n));
      for (const d of fileDids) read.hgetall(didKey(d)).smembers(rsesKey(d));
      for (const k of replicaKeys) read.hgetall(k);
      for (const c of collections) read.hget(didKey(c), "type");
      const results = ((await read.exec()) ?? []).map(([err, value]) => {
        if (err) throw err;
        return value;
      });
      let i = 0;
      const rses = new Map(rseNames.map((n) => [n, rseFromHash(results[i++] as Record<string, string>)]));
      const dids = new Map<string, DidState>();
      for (const d of fileDids) {
        const h = results[i++] as Record<string, string>;
        const members = results[i++] as string[];
        dids.set(d, { type: h["type"], content: contentOf(h), rses: new Set(members) });
      }
      const replicas = new Map<string, ReplicaView | undefined>();
      for (const k of replicaKeys) replicas.set(k, replicaOf(results[i++] as Record<string, string>));
      const collectionTypes = new Map(collections.map((c) => [c, results[i++] as string | null]));

      const nowMs = Date.now();
      const now = new Date(nowMs).toISOString();
      const multi = r.multi();
      let writes = 0;
      const events: ReplicaEvent[] = [];
      const created: CreatedFile[] = [];
      for (const reg of regs) {
        const f = reg.file;
        const did = `${f.scope}:${f.name}`;
        const rse = rses.get(reg.rse);
        if (!rse) throw new OrreryError(ErrorCode.NOT_FOUND, `RSE "${reg.rse}" of ${did} is not in the catalog`, { hint: "add it with `orrery dbb rse add`" });
        const state = dids.get(did)!;
        if (state.type === DidType.DATASET) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${did} is a collection, not a file: give the file another name`);
        if (!state.content) {
          const originSite = reg.originSite || rse.site;
          multi.hset(didKey(did), { type: DidType.FILE, ...fileFields(f), createdAt: now, originSite, producedBy: reg.producedBy });
          multi.sadd(Keys.typeIndex(f.scope, f.datasetType), f.name);
          // In the same transaction, so a crash before the subscriptions run leaves the DID to be picked up again.
          multi.zadd(Keys.subscriptionPending, nowMs, did);
          created.push({ did, scope: f.scope, datasetType: f.datasetType, metadata: f.metadata, originSite, registeredAt: nowMs });
          writes++;
        } else if (!sameContent(state.content, f)) {
          // New bytes under the same name: the file takes them and every other copy is stale.
          if (state.content.datasetType !== f.datasetType) {
            multi.srem(Keys.typeIndex(f.scope, state.content.datasetType), f.name);
            multi.sadd(Keys.typeIndex(f.scope, f.datasetType), f.name);
          }
          multi.hset(didKey(did), { ...fileFields(f), ...(reg.producedBy ? { producedBy: reg.producedBy } : {}) });
          for (const other of state.rses) {
            if (other === reg.rse) continue;
            multi.hset(Keys.replica(other, f.scope, f.name), { state: ReplicaState.BAD, updatedAt: now });
            events.push({ did, rse: other, state: ReplicaState.BAD });
            const key = Keys.replica(other, f.scope, f.name);
            const view = replicas.get(key);
            if (view) view.state = ReplicaState.BAD;
          }
          writes++;
        }
        state.type = DidType.FILE;
        state.content = { bytes: f.bytes, adler32: f.adler32, md5: f.md5, datasetType: f.datasetType };

        const key = Keys.replica(reg.rse, f.scope, f.name);
        const path = replicaPath(reg, rse.prefix);
        const existing = replicas.get(key);
        if (!(existing && existing.state === ReplicaState.AVAILABLE && existing.path === path && sameContent(existing, f))) {
          const fields = { rse: reg.rse, state: ReplicaState.AVAILABLE, path, bytes: f.bytes.toString(), adler32: f.adler32, md5: f.md5, updatedAt: now };
          // Rucio: a replica registered without a rule has no tombstone, so the reaper leaves it.
          multi.hset(key, existing ? fields : { ...fields, locks: "0", tombstone: "" });
          if (!existing) multi.hincrby(Keys.rseUsage, reg.rse, Number(f.bytes));
          else if (existing.bytes !== f.bytes) multi.hincrby(Keys.rseUsage, reg.rse, Number(f.bytes - existing.bytes));
          multi.sadd(rsesKey(did), reg.rse);
          multi.sadd(Keys.rseReplicas(reg.rse), did);
          replicas.set(key, { state: ReplicaState.AVAILABLE, path, bytes: f.bytes, adler32: f.adler32, md5: f.md5 });
          state.rses.add(reg.rse);
          events.push({ did, rse: reg.rse, state: ReplicaState.AVAILABLE });
          writes++;
        }

        if (reg.collection) {
          const c = `${reg.collection.scope}:${reg.collection.name}`;
          const type = collectionTypes.get(c);
          if (type === DidType.FILE || dids.has(c)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `collection ${c} is a file: give a DATASET DID as collection`);
          if (!type) {
            multi.hset(didKey(c), { type: DidType.DATASET, scope: reg.collection.scope, name: reg.collection.name, createdAt: now });
            collectionTypes.set(c, DidType.DATASET);
          }
          multi.sadd(Keys.members(reg.collection.scope, reg.collection.name), did);
          writes++;
        }
      }
      if (writes === 0) {
        await r.unwatch();
        return { registered: regs.length, events: [], created: [] };
      }
      const done = await multi.exec();
      if (done === null) return null;
      for (const [err] of done) if (err) throw err;
      return { registered: regs.length, events, created };
    } catch (err) {
      await r.unwatch().catch(() => undefined);
      throw err;
    }
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function split(did: string): [string, string] {
  const i = did.indexOf(":");
  return [did.slice(0, i), did.slice(i + 1)];
}

function didKey(did: string): string {
  return Keys.did(...split(did));
}

function rsesKey(did: string): string {
  return Keys.fileRses(...split(did));
}

function fileFields(f: FileAttributes): Record<string, string> {
  return {
    scope: f.scope,
    name: f.name,
    datasetType: f.datasetType,
    dataId: f.dataId,
    metadata: f.metadata,
    bytes: f.bytes.toString(),
    adler32: f.adler32,
    md5: f.md5,
    validFrom: f.validFrom,
    validTo: f.validTo,
  };
}

function contentOf(h: Record<string, string>): DidState["content"] {
  if (h["type"] !== DidType.FILE) return undefined;
  return { bytes: BigInt(h["bytes"] ?? "0"), adler32: h["adler32"] ?? "", md5: h["md5"] ?? "", datasetType: h["datasetType"] ?? "" };
}

function replicaOf(h: Record<string, string>): ReplicaView | undefined {
  if (h["state"] === undefined) return undefined;
  return { state: h["state"], path: h["path"] ?? "", bytes: BigInt(h["bytes"] ?? "0"), adler32: h["adler32"] ?? "", md5: h["md5"] ?? "" };
}
