// Input files cached in LMDB, keyed by DID + md5 (a re-made file with new
// content is a different entry). Bytes and metadata of an entry are written in
// one transaction, so after a crash an entry is either whole or absent.
import { writeFile } from "node:fs/promises";
import type { Database, RootDatabase } from "lmdb";

export interface CacheEntryMeta {
  did: string;
  md5: string;
  bytes: number;
  lastUsed: number;
}

export interface CacheStats {
  bytes: number;
  files: number;
  budgetBytes: number;
}

// lmdb-js values are bounded by what a Buffer can hold; larger files bypass the cache.
const MAX_ENTRY_BYTES = 1024 ** 3;

function entryKey(did: string, md5: string): string {
  return `${did}@${md5}`;
}

export class FileCache {
  private readonly blobs: Database<Buffer, string>;
  private readonly meta: Database<CacheEntryMeta, string>;
  private readonly pins = new Map<string, number>();
  private used = 0;
  private count = 0;
  /** DIDs that entered or left the cache since the last drainChanges (for the coordinator's locality index). */
  private added = new Set<string>();
  private removed = new Set<string>();

  constructor(
    private readonly root: RootDatabase,
    readonly budgetBytes: number,
  ) {
    this.blobs = root.openDB<Buffer, string>({ name: "cache-blobs", encoding: "binary" });
    this.meta = root.openDB<CacheEntryMeta, string>({ name: "cache-meta" });
    this.sweep();
  }

  /** Drops halves of entries (bytes without metadata or the reverse) and counts what is left. */
  private sweep(): void {
    const orphans: string[] = [];
    for (const key of this.blobs.getKeys()) if (this.meta.get(key) === undefined) orphans.push(key);
    const dangling: string[] = [];
    for (const { key, value } of this.meta.getRange()) {
      if (this.blobs.doesExist(key)) {
        this.used += value.bytes;
        this.count++;
      } else dangling.push(key);
    }
    if (orphans.length + dangling.length > 0) {
      this.root.transactionSync(() => {
        for (const k of orphans) this.blobs.removeSync(k);
        for (const k of dangling) this.meta.removeSync(k);
      });
    }
  }

  stats(): CacheStats {
    return { bytes: this.used, files: this.count, budgetBytes: this.budgetBytes };
  }

  has(did: string, md5: string): boolean {
    return this.meta.get(entryKey(did, md5)) !== undefined;
  }

  /** The cached bytes (a copy), marking the entry as just used; undefined on a miss. */
  get(did: string, md5: string): Buffer | undefined {
    const key = entryKey(did, md5);
    const meta = this.meta.get(key);
    if (meta === undefined) return undefined;
    const bytes = this.blobs.getBinary(key);
    if (bytes === undefined || bytes.length !== meta.bytes) return undefined;
    // lastUsed only orders eviction: a failed write leaves the entry older than it is, nothing worse.
    this.meta.put(key, { ...meta, lastUsed: Date.now() }).catch(() => undefined);
    return bytes;
  }

  /** Writes a cached file to `path`; false on a miss. */
  async writeTo(did: string, md5: string, path: string): Promise<boolean> {
    const bytes = this.get(did, md5);
    if (bytes === undefined) return false;
    await writeFile(path, bytes);
    return true;
  }

  /**
   * Stores verified bytes, evicting least-recently-used unpinned entries to
   * stay within the budget. Returns false when the file cannot fit.
   */
  async put(did: string, md5: string, bytes: Uint8Array): Promise<boolean> {
    const key = entryKey(did, md5);
    if (bytes.length > Math.min(this.budgetBytes, MAX_ENTRY_BYTES)) return false;
    // The callback runs under LMDB's write lock, so the accounting below sees a settled state.
    // Bytes go in before metadata and leave before it: any torn state is one that get() and sweep() reject.
    return this.root.transaction(() => {
      const existing = this.meta.get(key);
      if (existing !== undefined) {
        this.meta.putSync(key, { ...existing, lastUsed: Date.now() });
        return true;
      }
      const victims = this.victimsFor(bytes.length);
      if (victims === undefined) return false;
      for (const v of victims) {
        this.blobs.removeSync(v.key);
        this.meta.removeSync(v.key);
        this.used -= v.bytes;
        this.count--;
        this.changed(v.did, false);
      }
      this.blobs.putSync(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      this.meta.putSync(key, { did, md5, bytes: bytes.length, lastUsed: Date.now() });
      this.used += bytes.length;
      this.count++;
      this.changed(did, true);
      return true;
    });
  }

  /** Oldest unpinned entries whose removal makes room for `needed` bytes; undefined if pins forbid it. */
  private changed(did: string, present: boolean): void {
    (present ? this.removed : this.added).delete(did);
    (present ? this.added : this.removed).add(did);
  }

  /** What entered and left the cache since the last call. */
  drainChanges(): { added: string[]; removed: string[] } {
    const out = { added: [...this.added], removed: [...this.removed] };
    this.added = new Set();
    this.removed = new Set();
    return out;
  }

  /** DIDs of cached files, the most recently used first, at most `limit`. */
  recentDids(limit: number): string[] {
    const all = [...this.meta.getRange()].map((e) => e.value).sort((a, b) => b.lastUsed - a.lastUsed);
    return [...new Set(all.map((m) => m.did))].slice(0, limit);
  }

  private victimsFor(needed: number): { key: string; did: string; bytes: number }[] | undefined {
    let free = this.budgetBytes - this.used;
    if (free >= needed) return [];
    const candidates: { key: string; did: string; bytes: number; lastUsed: number }[] = [];
    for (const { key, value } of this.meta.getRange()) {
      if (!this.pins.has(key)) candidates.push({ key, did: value.did, bytes: value.bytes, lastUsed: value.lastUsed });
    }
    candidates.sort((a, b) => a.lastUsed - b.lastUsed);
    const victims: { key: string; did: string; bytes: number }[] = [];
    for (const c of candidates) {
      if (free >= needed) break;
      victims.push(c);
      free += c.bytes;
    }
    return free >= needed ? victims : undefined;
  }

  /** Keeps an entry from eviction until the returned release function is called. */
  pin(did: string, md5: string): () => void {
    const key = entryKey(did, md5);
    this.pins.set(key, (this.pins.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.pins.get(key) ?? 1) - 1;
      if (n <= 0) this.pins.delete(key);
      else this.pins.set(key, n);
    };
  }

  entries(): CacheEntryMeta[] {
    return [...this.meta.getRange()].map((e) => e.value);
  }
}
