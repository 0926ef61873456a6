// The cache's chunked storage and its verification, checked against the LMDB
// environment itself: chunks are corrupted, removed or left half-written
// there directly, as a disk fault or a crash would leave them.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { open, type Database } from "lmdb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checksumBytes } from "../../common/checksum.js";
import { openAgentStore, type AgentStore } from "./agent-store.js";

const CHUNK = 1000;

/** Runs `edit` on the store's LMDB environment while the store is closed (as another process or a crash would). */
async function editLmdb(path: string, edit: (blobs: Database<Buffer, string>, meta: Database<unknown, string>) => Promise<void>): Promise<void> {
  const root = open({ path, maxDbs: 8 });
  try {
    await edit(root.openDB<Buffer, string>({ name: "cache-blobs", encoding: "binary" }), root.openDB<unknown, string>({ name: "cache-meta" }));
  } finally {
    await root.close();
  }
}

describe("agent LMDB cache chunks", () => {
  let dir: string;
  let db: string;
  let store: AgentStore | undefined;
  const data = randomBytes(10 * CHUNK + 500); // 11 chunks, the last one short
  const sum = checksumBytes(data);
  const open_ = (budget = 100_000) => (store = openAgentStore(db, budget, { chunkBytes: CHUNK }));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "orrery-cache-chunks-"));
    db = join(dir, "db");
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("stores a file from disk as fixed-size chunks and streams it back whole", async () => {
    const src = join(dir, "src.dat");
    writeFileSync(src, data);
    expect(await open_().cache.put("s:f", sum.md5, src, sum.adler32)).toBe(true);
    expect(store!.cache.entries()).toMatchObject([{ did: "s:f", bytes: data.length, adler32: sum.adler32, chunkBytes: CHUNK, chunks: 11 }]);
    const out = join(dir, "out.dat");
    expect(await store!.cache.writeTo("s:f", sum.md5, out, { bytes: data.length, adler32: sum.adler32 })).toEqual({ kind: "hit" });
    expect(readFileSync(out).equals(data)).toBe(true);
    await store!.close();
    await editLmdb(db, async (blobs) => {
      const lengths = [...blobs.getKeys()].map((k) => [k, blobs.getBinary(k)!.length]);
      expect(lengths).toHaveLength(11);
      expect(lengths).toContainEqual([`s:f@${sum.md5}#10`, 500]);
      expect(lengths).toContainEqual([`s:f@${sum.md5}#0`, CHUNK]);
    });
  });

  it("refuses a hit whose stored chunk was corrupted, removes the partial file and drops the entry", async () => {
    await open_().cache.put("s:f", sum.md5, data, sum.adler32);
    await store!.close();
    await editLmdb(db, async (blobs) => {
      const chunk = Buffer.from(blobs.getBinary(`s:f@${sum.md5}#7`)!);
      chunk[123] = chunk[123]! ^ 0x01;
      await blobs.put(`s:f@${sum.md5}#7`, chunk);
    });
    const { cache } = open_();
    expect(cache.stats()).toMatchObject({ files: 1, bytes: data.length }); // the length is intact: only a checksum sees it
    const out = join(dir, "out.dat");
    const read = await cache.writeTo("s:f", sum.md5, out, { bytes: data.length, adler32: sum.adler32 });
    expect(read).toEqual({ kind: "corrupt", problem: expect.stringContaining("adler32 mismatch") });
    expect(existsSync(out)).toBe(false);
    expect(cache.has("s:f", sum.md5)).toBe(false);
    expect(cache.stats()).toMatchObject({ files: 0, bytes: 0 });
    expect(cache.drainChanges().removed).toEqual(["s:f"]);
    expect(await cache.writeTo("s:f", sum.md5, out)).toEqual({ kind: "miss" });
    // Fetched again, it is cached again.
    expect(await cache.put("s:f", sum.md5, data, sum.adler32)).toBe(true);
    expect(cache.get("s:f", sum.md5)?.equals(data)).toBe(true);
    await store!.close();
    await editLmdb(db, async (blobs) => expect([...blobs.getKeys()]).toHaveLength(11));
  });

  it("get() verifies too: a corrupted entry is not returned and is dropped", async () => {
    await open_().cache.put("s:f", sum.md5, data, sum.adler32);
    await store!.close();
    await editLmdb(db, async (blobs) => {
      await blobs.put(`s:f@${sum.md5}#0`, Buffer.alloc(CHUNK, 0));
    });
    const { cache } = open_();
    expect(cache.get("s:f", sum.md5)).toBeUndefined();
    expect(cache.has("s:f", sum.md5)).toBe(false);
  });

  it("refuses an entry whose checksums are not the lease's, and bytes that are not the catalog's", async () => {
    const { cache } = open_();
    expect(await cache.put("s:f", sum.md5, data, "00000001")).toBe(false); // the bytes do not sum to the catalog's adler32
    expect(cache.stats()).toMatchObject({ files: 0, bytes: 0 });
    expect(await cache.put("s:f", sum.md5, data, sum.adler32)).toBe(true);
    const read = await cache.writeTo("s:f", sum.md5, join(dir, "out.dat"), { bytes: data.length, adler32: "0badc0de" });
    expect(read).toEqual({ kind: "corrupt", problem: expect.stringContaining("adler32 mismatch") });
    expect(cache.has("s:f", sum.md5)).toBe(false);
    await store!.close();
    await editLmdb(db, async (blobs) => expect([...blobs.getKeys()]).toEqual([]));
  });

  it("after a crash keeps whole entries only: chunks without metadata and metadata missing a chunk are swept", async () => {
    const other = randomBytes(2500);
    const otherSum = checksumBytes(other);
    await open_().cache.put("s:whole", sum.md5, data, sum.adler32);
    await store!.cache.put("s:torn", otherSum.md5, other, otherSum.adler32);
    await store!.close();
    await editLmdb(db, async (blobs, meta) => {
      await blobs.remove(`s:torn@${otherSum.md5}#1`); // metadata left, a chunk gone
      await blobs.put("s:half@abc#0", Buffer.alloc(CHUNK)); // chunks written, metadata never
      await blobs.put("s:old@def", Buffer.alloc(10)); // the whole-blob layout of earlier versions
      await meta.put("s:old@def", { did: "s:old", md5: "def", bytes: 10, lastUsed: 1 });
    });
    const { cache } = open_();
    expect(cache.stats()).toMatchObject({ files: 1, bytes: data.length });
    expect(cache.entries().map((e) => e.did)).toEqual(["s:whole"]);
    expect(cache.get("s:whole", sum.md5)?.equals(data)).toBe(true);
    await store!.close();
    await editLmdb(db, async (blobs, meta) => {
      expect([...blobs.getKeys()].every((k) => k.startsWith(`s:whole@${sum.md5}#`))).toBe(true);
      expect([...meta.getKeys()]).toEqual([`s:whole@${sum.md5}`]);
    });
  });

  it("streams a multi-chunk file in and out without holding it whole in memory", async () => {
    const big = Buffer.alloc(48 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i); // distinct chunks, cheap to make
    const bigSum = checksumBytes(big);
    const src = join(dir, "big.dat");
    writeFileSync(src, big);
    store = openAgentStore(db, 100 * 1024 * 1024, { chunkBytes: 1024 * 1024 });
    const { cache } = store;
    // Peak of memory held in ArrayBuffers while the cache works, above what it was before.
    const peakAbove = async (work: () => Promise<unknown>) => {
      const base = process.memoryUsage().arrayBuffers;
      let peak = base;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 1);
      try {
        await work();
      } finally {
        clearInterval(timer);
      }
      return Math.max(peak, process.memoryUsage().arrayBuffers) - base;
    };
    // The file was 48 MiB in `big` when the baseline was taken: a whole-file read would add another 48.
    expect(await peakAbove(() => cache.put("s:big", bigSum.md5, src, bigSum.adler32))).toBeLessThan(24 * 1024 * 1024);
    expect(cache.entries()[0]).toMatchObject({ chunks: 48, bytes: big.length });
    const out = join(dir, "big.out");
    let read;
    expect(await peakAbove(async () => (read = await cache.writeTo("s:big", bigSum.md5, out, { bytes: big.length, adler32: bigSum.adler32 })))).toBeLessThan(24 * 1024 * 1024);
    expect(read).toEqual({ kind: "hit" });
    expect(readFileSync(out).equals(big)).toBe(true);
  });
});
