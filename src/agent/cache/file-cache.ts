// Input files cached in LMDB, keyed by DID + md5 (a re-made file with new
// content is a different entry). A file's bytes are stored as fixed-size
// chunks under `<entry>#<n>`, so a file of any size is cached and served a
// chunk at a time, never whole in memory. Each entry keeps the catalog's
// adler32, checked on every byte served: a corrupt entry is dropped, never
// served. Chunks are committed before the entry's metadata and the sweep at
// open drops chunks without metadata (or metadata missing a chunk), so after a
// crash an entry is either whole or absent.
import { stat } from "node:fs/promises";
import type { Database, RootDatabase } from "lmdb";
import { adler32Hex, adler32Update } from "../../common/checksum.js";
import { chunkKey, chunkLength, chunkView, readChunks, storeChunks } from "./chunks.js";

export interface CacheEntryMeta {
  did: string;
  md5: string;
  bytes: number;
  /** The catalog's adler32 of the bytes (8 hex digits), checked whenever the entry is served. */
  adler32: string;
  chunkBytes: number;
  chunks: number;
  lastUsed: number;
}

export interface CacheStats {
  /** Bytes of whole entries plus room reserved by entries being stored. */
  bytes: number;
  files: number;
  budgetBytes: number;
}

/** What a read from the cache found: served and verified, absent, or a corrupt entry (now dropped). */
export type CacheRead = { kind: "hit" } | { kind: "miss" } | { kind: "corrupt"; problem: string };

export interface FileCacheOptions {
  /** Bytes per stored chunk (default 4 MiB): what a read or a store holds in memory at a time. */
  chunkBytes?: number;
}

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;

function entryKey(did: string, md5: string): string {
  return `${did}@${md5}`;
}

/** An entry written by this code: older whole-blob entries carry no adler32 or chunk count and are swept. */
function isCurrent(m: CacheEntryMeta): boolean {
  return typeof m.chunks === "number" && typeof m.chunkBytes === "number" && m.chunkBytes > 0 && /^[0-9a-f]{8}$/.test(m.adler32 ?? "");
}

export class FileCache {
  private readonly blobs: Database<Buffer, string>;
  private readonly meta: Database<CacheEntryMeta, string>;
  private readonly chunkBytes: number;
  private readonly pins = new Map<string, number>();
  /** Entries whose chunks are being written (no metadata yet): a second put of one waits for nothing. */
  private readonly storing = new Set<string>();
  private used = 0;
  private count = 0;
  /** DIDs that entered or left the cache since the last drainChanges (for the coordinator's locality index). */
  private added = new Set<string>();
  private removed = new Set<string>();

  constructor(
    private readonly root: RootDatabase,
    readonly budgetBytes: number,
    opts: FileCacheOptions = {},
  ) {
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.blobs = root.openDB<Buffer, string>({ name: "cache-blobs", encoding: "binary" });
    this.meta = root.openDB<CacheEntryMeta, string>({ name: "cache-meta" });
    this.sweep();
  }

  /** Drops halves of entries (chunks without metadata, metadata missing a chunk) and counts what is left. */
  private sweep(): void {
    const whole = new Map<string, CacheEntryMeta>();
    const broken: string[] = [];
    for (const { key, value } of this.meta.getRange()) {
      let ok = isCurrent(value);
      for (let n = 0; ok && n < value.chunks; n++) ok = this.blobs.doesExist(chunkKey(key, n));
      if (ok) whole.set(key, value);
      else broken.push(key);
    }
    const orphans: string[] = [];
    for (const k of this.blobs.getKeys()) {
      const at = k.lastIndexOf("#");
      const owner = at < 0 ? undefined : whole.get(k.slice(0, at));
      const n = Number(k.slice(at + 1));
      if (owner === undefined || !Number.isInteger(n) || n >= owner.chunks) orphans.push(k);
    }
    for (const m of whole.values()) {
      this.used += m.bytes;
      this.count++;
    }
    if (orphans.length + broken.length > 0) {
      this.root.transactionSync(() => {
        for (const k of orphans) this.blobs.removeSync(k);
        for (const k of broken) this.meta.removeSync(k);
      });
    }
  }

  stats(): CacheStats {
    return { bytes: this.used, files: this.count, budgetBytes: this.budgetBytes };
  }

  has(did: string, md5: string): boolean {
    return this.meta.get(entryKey(did, md5)) !== undefined;
  }

  /**
   * Streams a cached file to `path` a chunk at a time, checking adler32 (and
   * `want`, the lease's values, when given) over every byte written. A corrupt
   * entry is dropped and the partial file removed; the caller fetches it again.
   */
  async writeTo(did: string, md5: string, path: string, want: { bytes?: number; adler32?: string } = {}): Promise<CacheRead> {
    const key = entryKey(did, md5);
    const meta = this.meta.get(key);
    if (meta === undefined) return { kind: "miss" };
    const problem = disagreement(meta, want) ?? (await readChunks(this.blobs, key, meta, path));
    if (problem === "missing") return { kind: "miss" }; // dropped or evicted while being read
    if (problem !== undefined) {
      this.drop(key);
      return { kind: "corrupt", problem };
    }
    this.touch(key);
    return { kind: "hit" };
  }

  /** The whole cached file, verified, marking the entry as just used; undefined on a miss or a corrupt entry (dropped). For small files: stage-in streams with writeTo. */
  get(did: string, md5: string): Buffer | undefined {
    const key = entryKey(did, md5);
    const meta = this.meta.get(key);
    if (meta === undefined) return undefined;
    const out = Buffer.allocUnsafe(meta.bytes);
    let adler = 1;
    for (let n = 0; n < meta.chunks; n++) {
      const part = chunkView(this.blobs, key, n);
      if (part?.length !== chunkLength(meta, n)) return undefined;
      out.set(part, n * meta.chunkBytes);
      adler = adler32Update(adler, out.subarray(n * meta.chunkBytes, n * meta.chunkBytes + part.length));
    }
    if (adler32Hex(adler) !== meta.adler32) {
      this.drop(key);
      return undefined;
    }
    this.touch(key);
    return out;
  }

  /**
   * Stores a verified file, from a path on disk (read a chunk at a time) or
   * from bytes, evicting least-recently-used unpinned entries to stay within
   * the budget. `adler32` is the catalog's value; the bytes read must match it
   * (when empty, the sum of the bytes read is kept). Returns false when the
   * file cannot fit or its bytes changed.
   */
  async put(did: string, md5: string, source: string | Uint8Array, adler32 = ""): Promise<boolean> {
    const key = entryKey(did, md5);
    if (this.meta.get(key) !== undefined) {
      this.touch(key);
      return true;
    }
    if (this.storing.has(key)) return true; // the same bytes are being stored by another stage-in
    const size = typeof source === "string" ? (await stat(source)).size : source.length;
    if (size > this.budgetBytes || !this.reserve(size)) return false;
    this.storing.add(key);
    const chunks = Math.ceil(size / this.chunkBytes);
    let stored = false;
    try {
      const sum = await storeChunks(this.blobs, key, source, size, this.chunkBytes);
      if (sum === undefined || (adler32 !== "" && sum !== adler32)) return false;
      // Metadata last, after every chunk is committed: an entry with metadata is whole.
      await this.meta.put(key, { did, md5, bytes: size, adler32: sum, chunkBytes: this.chunkBytes, chunks, lastUsed: Date.now() });
      stored = true;
      this.count++;
      this.changed(did, true);
      return true;
    } finally {
      this.storing.delete(key);
      if (!stored) {
        this.used -= size;
        this.root.transactionSync(() => {
          for (let n = 0; n < chunks; n++) this.blobs.removeSync(chunkKey(key, n));
        });
      }
    }
  }

  /** Evicts what must go for `size` more bytes and reserves them, under LMDB's write lock; false if pins forbid it. */
  private reserve(size: number): boolean {
    return this.root.transactionSync(() => {
      const victims = this.victimsFor(size);
      if (victims === undefined) return false;
      for (const v of victims) this.removeEntry(v.key, v.meta);
      this.used += size;
      return true;
    });
  }

  /** Removes an entry's metadata and chunks; call inside a synchronous transaction. */
  private removeEntry(key: string, meta: CacheEntryMeta): void {
    this.meta.removeSync(key);
    for (let n = 0; n < meta.chunks; n++) this.blobs.removeSync(chunkKey(key, n));
    this.used -= meta.bytes;
    this.count--;
    this.changed(meta.did, false);
  }

  /** Drops a corrupt entry, pinned or not: its bytes must not be served to anyone. */
  private drop(key: string): void {
    this.root.transactionSync(() => {
      const meta = this.meta.get(key);
      if (meta !== undefined) this.removeEntry(key, meta);
    });
  }

  /** Marks an entry as just used. lastUsed only orders eviction: a failed write leaves the entry older than it is, nothing worse. */
  private touch(key: string): void {
    // Checked inside the write so a touch never brings back an entry dropped meanwhile.
    this.root
      .transaction(() => {
        const meta = this.meta.get(key);
        if (meta !== undefined) this.meta.putSync(key, { ...meta, lastUsed: Date.now() });
      })
      .catch(() => undefined);
  }

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

  /** Oldest unpinned entries whose removal makes room for `needed` bytes; undefined if pins forbid it. */
  private victimsFor(needed: number): { key: string; meta: CacheEntryMeta }[] | undefined {
    let free = this.budgetBytes - this.used;
    if (free >= needed) return [];
    const candidates: { key: string; meta: CacheEntryMeta }[] = [];
    for (const { key, value } of this.meta.getRange()) if (!this.pins.has(key)) candidates.push({ key, meta: value });
    candidates.sort((a, b) => a.meta.lastUsed - b.meta.lastUsed);
    const victims: { key: string; meta: CacheEntryMeta }[] = [];
    for (const c of candidates) {
      if (free >= needed) break;
      victims.push(c);
      free += c.meta.bytes;
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

/** Where the lease's size or adler32 differ from the entry's: the entry is not the catalog's file. */
function disagreement(meta: CacheEntryMeta, want: { bytes?: number; adler32?: string }): string | undefined {
  if (want.bytes !== undefined && want.bytes !== meta.bytes) return `size mismatch: the cache holds ${meta.bytes} bytes, the catalog says ${want.bytes}`;
  if (want.adler32 !== undefined && want.adler32 !== "" && want.adler32 !== meta.adler32) return `adler32 mismatch: the cache entry says ${meta.adler32}, the catalog says ${want.adler32}`;
  return undefined;
}
