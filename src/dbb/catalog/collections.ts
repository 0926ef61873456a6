// Attach, detach and close collections. Each change reads what it depends on
// under WATCH and writes in one MULTI/EXEC, retried when a concurrent writer
// (another dbb process) changed a watched key: the rules hold across writers.
import type { Redis } from "ioredis";
import { parseDid } from "../../common/did.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { DidType, Keys } from "./keys.js";
import {
  checkAttachable,
  checkDetachable,
  checkNoCycle,
  didTypeOf,
  isOpen,
  notInCatalog,
  parentTypeFor,
  parseCatalogDid,
  type DidView,
  type ParentView,
} from "./collection-rules.js";

/** The children a change actually attached or detached (repeats and no-ops left out). */
export interface CollectionChange {
  parent: string;
  children: string[];
}

const MAX_ATTEMPTS = 20;
/** Children per request: one request stays one bounded transaction. */
export const MAX_CHILDREN = 10_000;

export function didKey(did: string): string {
  const { scope, name } = parseDid(did);
  return Keys.did(scope, name);
}

export function membersKey(did: string): string {
  const { scope, name } = parseDid(did);
  return Keys.members(scope, name);
}

export function parentsKey(did: string): string {
  const { scope, name } = parseDid(did);
  return Keys.parents(scope, name);
}

async function run<T>(pipe: ReturnType<Redis["pipeline"]>): Promise<T[]> {
  return ((await pipe.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return value as T;
  });
}

export class Collections {
  private queue: Promise<unknown> = Promise.resolve();

  /** `redis` must be a connection of its own: WATCH state is per connection. */
  constructor(private readonly redis: Redis) {}

  /** Attaches `children` to `parent` (made if absent); returns those newly attached. */
  async attach(parent: string, children: readonly string[]): Promise<CollectionChange> {
    const p = parseCatalogDid(parent, "parent");
    const kids = checkedChildren(children, "attach");
    return this.serial(`attach to ${parent}`, () => this.attachOnce(p.did, p.scope, kids));
  }

  /** Detaches `children` from `parent`; every one must be attached. */
  async detach(parent: string, children: readonly string[]): Promise<CollectionChange> {
    const p = parseCatalogDid(parent, "parent");
    const kids = checkedChildren(children, "detach");
    return this.serial(`detach from ${parent}`, () => this.detachOnce(p.did, kids));
  }

  /** Closes a DATASET or CONTAINER (Rucio: `close`; only an admin reopens, so there is no reopen). */
  async close(did: string): Promise<{ did: string; type: DidType }> {
    const d = parseCatalogDid(did);
    return this.serial(`close ${did}`, async () => {
      const [type] = await this.redis.hmget(didKey(d.did), "type");
      const t = didTypeOf(type);
      if (t === undefined) throw notInCatalog(d.did);
      if (t === DidType.FILE) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${d.did} is a FILE: only a DATASET or CONTAINER is closed`);
      // Closing a closed collection changes nothing (Rucio sets is_open=False again).
      await this.redis.hset(didKey(d.did), "open", "0");
      return { did: d.did, type: t };
    });
  }

  /** One change at a time on the connection; a round a concurrent writer broke (null) is tried again. */
  private serial<T>(what: string, once: () => Promise<T | null>): Promise<T> {
    const attempt = async (): Promise<T> => {
      for (let i = 0; i < MAX_ATTEMPTS; i++) {
        try {
          const result = await once();
          if (result !== null) return result;
        } catch (err) {
          await this.redis.unwatch().catch(() => undefined);
          throw err;
        }
      }
      throw new OrreryError(ErrorCode.UNAVAILABLE, `${what} kept conflicting with concurrent writers`, { hint: "try again" });
    };
    const result = this.queue.then(attempt);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async attachOnce(parent: string, parentScope: string, children: readonly string[]): Promise<CollectionChange | null> {
    const r = this.redis;
    await r.watch(didKey(parent), ...children.map(didKey));
    const read = r.pipeline().hmget(didKey(parent), "type", "open");
    for (const c of children) read.hmget(didKey(c), "type", "open");
    const [parentHash, ...childHashes] = await run<(string | null)[]>(read);
    const kids: DidView[] = children.map((did, i) => {
      const [type, open] = childHashes[i] ?? [];
      const t = didTypeOf(type);
      return { did, type: t, open: isOpen(t, open) };
    });
    for (const k of kids) if (k.type === undefined) throw notInCatalog(k.did);
    const existing = didTypeOf(parentHash?.[0]);
    const made = existing === undefined;
    const view: ParentView = { did: parent, type: existing ?? parentTypeFor(parent, kids), open: made || isOpen(existing, parentHash?.[1]) };
    for (const k of kids) checkAttachable(view, k);
    if (!made && view.type === DidType.CONTAINER && kids.some((k) => k.type === DidType.CONTAINER)) {
      const above = await this.ancestors(parent);
      for (const k of kids) checkNoCycle(parent, k.did, above);
    }

    const multi = r.multi();
    if (made) {
      const { name } = parseDid(parent);
      multi.hset(didKey(parent), { type: view.type, scope: parentScope, name, metadata: "{}", open: "1", createdAt: new Date().toISOString() });
      // Rucio wants the scope first; here a scope exists once a DID of it does.
      multi.sadd(Keys.scopes, parentScope);
    }
    const replyAt = children.map((c) => {
      const at = multi.length - 1; // MULTI itself is queued first and has no reply
      multi.sadd(membersKey(parent), c).sadd(parentsKey(c), parent);
      return at;
    });
    const done = await multi.exec();
    if (done === null) return null;
    for (const [err] of done) if (err) throw err;
    // Attaching what is already attached is a no-op (Rucio raises FileAlreadyExists for
    // files, DuplicateContent for collections; a repeat here is harmless and retries stay idempotent).
    return { parent, children: children.filter((_c, i) => done[replyAt[i]!]?.[1] === 1) };
  }

  private async detachOnce(parent: string, children: readonly string[]): Promise<CollectionChange | null> {
    const r = this.redis;
    await r.watch(didKey(parent), membersKey(parent));
    const [[type, open], attached] = (await run<unknown>(r.pipeline().hmget(didKey(parent), "type", "open").smismember(membersKey(parent), ...children))) as [
      (string | null)[],
      number[],
    ];
    const t = didTypeOf(type);
    const view: DidView = { did: parent, type: t, open: isOpen(t, open) };
    children.forEach((c, i) => checkDetachable(view, c, attached[i] === 1));
    const multi = r.multi();
    for (const c of children) multi.srem(membersKey(parent), c).srem(parentsKey(c), parent);
    const done = await multi.exec();
    if (done === null) return null;
    for (const [err] of done) if (err) throw err;
    return { parent, children: [...children] };
  }

  /** Every collection above `did`, watching each parent set before reading it so a concurrent attach breaks the round. */
  private async ancestors(did: string): Promise<Set<string>> {
    const seen = new Set<string>();
    let frontier = [did];
    while (frontier.length > 0) {
      await this.redis.watch(...frontier.map(parentsKey));
      const pipe = this.redis.pipeline();
      for (const d of frontier) pipe.smembers(parentsKey(d));
      const next: string[] = [];
      for (const parents of await run<string[]>(pipe)) {
        for (const p of parents) {
          if (!seen.has(p)) {
            seen.add(p);
            next.push(p);
          }
        }
      }
      frontier = next;
    }
    return seen;
  }
}

function checkedChildren(children: readonly string[], verb: string): string[] {
  const unique = [...new Set(children)];
  if (unique.length === 0) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `nothing to ${verb}`, { hint: `give the DIDs to ${verb} after the parent` });
  if (unique.length > MAX_CHILDREN) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${unique.length} DIDs to ${verb} in one request: at most ${MAX_CHILDREN}`, { hint: "split them over several requests" });
  for (const c of unique) parseCatalogDid(c);
  return unique;
}
