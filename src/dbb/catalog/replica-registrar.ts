// Writes replica registrations to Redis. A batch is read, decided in memory
// and written in one MULTI/EXEC guarded by WATCH, so a registration is one
// atomic write even with several dbb processes; within a process batches go
// one at a time (WATCH belongs to the connection). A registration may also
// attach its file to a DATASET and that dataset to a CONTAINER, both made if
// absent, in the same write and under the same rules as `dbb attach`.
import type { Redis } from "ioredis";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { DidType, Keys, ReplicaState } from "./keys.js";
import { replicaPath, sameContent, type FileAttributes, type ValidRegistration } from "./registration.js";
import { rseFromHash } from "./rse-store.js";
import { checkAttachable, didTypeOf, isOpen } from "./collection-rules.js";
import { membersKey, parentsKey, type CollectionChange } from "./collections.js";

export interface ReplicaEvent {
  did: string;
  rse: string;
  state: ReplicaState;
}

export interface RegisterResult {
  registered: number;
  /** Replicas whose state was written (new/updated AVAILABLE ones, others turned BAD). */
  events: ReplicaEvent[];
  /** Files newly attached to datasets, datasets newly attached to containers. */
  attached: CollectionChange[];
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

interface CollectionView {
  type: DidType | undefined;
  open: boolean;
}

interface DidState {
  type: string | undefined;
  content: { bytes: bigint; adler32: string; md5: string; datasetType: string } | undefined;
  rses: Set<string>;
}

interface ReplicaView {
  state: string;
  /** Made obsolete (tombstone at the epoch): registered again, it is wanted again. */
  obsolete?: boolean;
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
    if (regs.length === 0) return { registered: 0, events: [], attached: [], created: [] };
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
    const collections = unique(regs.flatMap((g) => [g.collection, g.container].flatMap((c) => (c ? [`${c.scope}:${c.name}`] : []))));
    // Who is already where: a closed collection refuses only what would change it.
    const memberships = unique(regs.flatMap((g) => attachmentsOf(g).map(([parent, child]) => `${parent}\n${child}`)));
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
      for (const c of collections) read.hmget(didKey(c), "type", "open");
      for (const m of memberships) {
        const [parent, child] = m.split("\n") as [string, string];
        read.sismember(membersKey(parent), child);
      }
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
      const views = new Map<string, CollectionView>(
        collections.map((c) => {
          const [type, open] = results[i++] as (string | null)[];
          const t = didTypeOf(type);
          return [c, { type: t, open: isOpen(t, open) }];
        }),
      );
      const member = new Map(memberships.map((m) => [m, results[i++] === 1]));
      const attachedAt: { parent: string; child: string; at: number }[] = [];

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
        if (state.type === DidType.DATASET || state.type === DidType.CONTAINER) {
          throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${did} is a ${state.type}, not a file: give the file another name`);
        }
        if (!state.content) {
          const originSite = reg.originSite || rse.site;
          multi.hset(didKey(did), { type: DidType.FILE, ...fileFields(f), createdAt: now, originSite, producedBy: reg.producedBy });
          multi.sadd(Keys.typeIndex(f.scope, f.datasetType), f.name);
          multi.sadd(Keys.scopes, f.scope); // a scope exists once a DID of it does
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
          if (existing?.obsolete) multi.hset(key, "tombstone", "").zrem(Keys.tombstones(reg.rse), did);
          if (!existing) multi.hincrby(Keys.rseUsage, reg.rse, Number(f.bytes));
          else if (existing.bytes !== f.bytes) multi.hincrby(Keys.rseUsage, reg.rse, Number(f.bytes - existing.bytes));
          multi.sadd(rsesKey(did), reg.rse);
          multi.sadd(Keys.rseReplicas(reg.rse), did);
          replicas.set(key, { state: ReplicaState.AVAILABLE, path, bytes: f.bytes, adler32: f.adler32, md5: f.md5 });
          state.rses.add(reg.rse);
          events.push({ did, rse: reg.rse, state: ReplicaState.AVAILABLE });
          writes++;
        }

        for (const [parent, child, type] of attachmentsOf(reg)) {
          if (dids.has(parent)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${parent} is a file: give a ${type} DID to attach ${child} to`);
          const view = views.get(parent)!;
          if (view.type === undefined) {
            const [scope, name] = split(parent);
            multi.hset(didKey(parent), { type, scope, name, metadata: "{}", open: "1", createdAt: now });
            multi.sadd(Keys.scopes, scope);
            view.type = type;
            view.open = true;
          }
          const key = `${parent}\n${child}`;
          const childType = child === did ? DidType.FILE : DidType.DATASET;
          checkAttachable({ did: parent, type: view.type, open: view.open || member.get(key) === true }, { did: child, type: childType, open: true });
          attachedAt.push({ parent, child, at: multi.length - 1 }); // MULTI itself is queued first and has no reply
          multi.sadd(membersKey(parent), child).sadd(parentsKey(child), parent);
          member.set(key, true);
          writes++;
        }
      }
      if (writes === 0) {
        await r.unwatch();
        return { registered: regs.length, events: [], attached: [], created };
      }
      const done = await multi.exec();
      if (done === null) return null;
      for (const [err] of done) if (err) throw err;
      return { registered: regs.length, events, attached: changes(attachedAt.filter((a) => done[a.at]?.[1] === 1)), created };
    } catch (err) {
      await r.unwatch().catch(() => undefined);
      throw err;
    }
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

/** [parent, child, type the parent is made with]: the file into its DATASET, the dataset into its CONTAINER. */
function attachmentsOf(reg: ValidRegistration): [string, string, DidType][] {
  if (!reg.collection) return [];
  const file = `${reg.file.scope}:${reg.file.name}`;
  const dataset = `${reg.collection.scope}:${reg.collection.name}`;
  const out: [string, string, DidType][] = [[dataset, file, DidType.DATASET]];
  if (reg.container) out.push([`${reg.container.scope}:${reg.container.name}`, dataset, DidType.CONTAINER]);
  return out;
}

function changes(attached: readonly { parent: string; child: string }[]): CollectionChange[] {
  const byParent = new Map<string, string[]>();
  for (const a of attached) byParent.set(a.parent, [...(byParent.get(a.parent) ?? []), a.child]);
  return [...byParent].map(([parent, children]) => ({ parent, children }));
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
  return { state: h["state"], obsolete: h["tombstone"] === "0", path: h["path"] ?? "", bytes: BigInt(h["bytes"] ?? "0"), adler32: h["adler32"] ?? "", md5: h["md5"] ?? "" };
}
