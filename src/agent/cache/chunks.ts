// A cache entry's bytes as LMDB values of chunkBytes each (the last one
// shorter), read and written a chunk at a time with adler32 computed on the
// way, so neither a hit nor a store holds a whole file in memory.
import { open, rm } from "node:fs/promises";
import type { Database } from "lmdb";
import { adler32Hex, adler32Update } from "../../common/checksum.js";

/** Chunks of one entry written but not yet committed: bounds a store's memory to this many chunks. */
const STORE_WINDOW = 4;

export function chunkKey(entry: string, n: number): string {
  return `${entry}#${n}`;
}

/**
 * Chunk `n` of an entry, as LMDB's own buffer (valid only until the next read; its `length` is
 * patched over a larger array, so a plain view of exactly the value's bytes is made), or undefined.
 */
export function chunkView(blobs: Database<Buffer, string>, entry: string, n: number): Uint8Array | undefined {
  const view = blobs.getBinaryFast(chunkKey(entry, n));
  return view === undefined ? undefined : new Uint8Array(view.buffer, view.byteOffset, view.length);
}

export function chunkLength(meta: { bytes: number; chunkBytes: number }, n: number): number {
  return Math.min(meta.chunkBytes, meta.bytes - n * meta.chunkBytes);
}

/**
 * Writes the entry's chunks to `path`, summing adler32 over the very bytes
 * written. Returns undefined when they match the entry's adler32, "missing"
 * when a chunk is gone (the entry left the cache meanwhile), else the
 * problem; on anything but a match `path` is removed.
 */
export async function readChunks(
  blobs: Database<Buffer, string>,
  key: string,
  meta: { bytes: number; chunkBytes: number; chunks: number; adler32: string },
  path: string,
): Promise<string | undefined> {
  // Two buffers: one chunk is copied out of the map and summed while the previous one is written.
  const size = Math.min(meta.chunkBytes, Math.max(meta.bytes, 1));
  const buffers = [Buffer.allocUnsafeSlow(size), Buffer.allocUnsafeSlow(meta.chunks > 1 ? size : 1)];
  const fh = await open(path, "w");
  let problem: string | undefined;
  try {
    let adler = 1;
    let pending: Promise<unknown> = Promise.resolve();
    for (let n = 0; n < meta.chunks; n++) {
      const want = chunkLength(meta, n);
      // A view of LMDB's map (or a reused buffer), valid only until the next read: copied at once.
      const view = chunkView(blobs, key, n);
      if (view === undefined) {
        problem = "missing";
        break;
      }
      if (view.length !== want) {
        problem = `chunk ${n} holds ${view.length} bytes, not ${want}`;
        break;
      }
      // This buffer's last write (chunk n - 2) ended before chunk n - 1's began: copy and sum while that one runs.
      const target = buffers[n & 1]!.subarray(0, want);
      target.set(view);
      adler = adler32Update(adler, target);
      await pending;
      pending = fh.write(target, 0, want, n * meta.chunkBytes);
    }
    await pending;
    if (problem === undefined && adler32Hex(adler) !== meta.adler32) problem = `adler32 mismatch: the cached bytes sum to ${adler32Hex(adler)}, the catalog says ${meta.adler32}`;
  } finally {
    await fh.close();
    if (problem !== undefined) await rm(path, { force: true });
  }
  return problem;
}

/**
 * Puts `size` bytes from a file (read a chunk at a time) or from memory as
 * chunks of `key`, at most STORE_WINDOW uncommitted at once. Returns their
 * adler32, or undefined when the file's size changed while it was read.
 */
export async function storeChunks(blobs: Database<Buffer, string>, key: string, source: string | Uint8Array, size: number, chunkBytes: number): Promise<string | undefined> {
  const chunks = Math.ceil(size / chunkBytes);
  // Settled placeholders until a slot holds a put: every slot is always a promise.
  const inFlight: Promise<boolean>[] = Array.from({ length: STORE_WINDOW }, () => Promise.resolve(true));
  let adler = 1;
  if (typeof source !== "string") {
    try {
      for (let n = 0; n < chunks; n++) {
        const part = source.subarray(n * chunkBytes, Math.min(size, (n + 1) * chunkBytes));
        adler = adler32Update(adler, part);
        await inFlight[n % STORE_WINDOW];
        inFlight[n % STORE_WINDOW] = blobs.put(chunkKey(key, n), Buffer.from(part.buffer, part.byteOffset, part.length));
      }
      await Promise.all(inFlight);
    } finally {
      // Nothing of this store is still being written when the caller removes what failed.
      await Promise.allSettled(inFlight);
    }
    return adler32Hex(adler);
  }
  // A buffer is read into again only once the put that held it is committed.
  const buffers = Array.from({ length: Math.min(STORE_WINDOW, chunks) }, () => Buffer.allocUnsafeSlow(Math.min(chunkBytes, size)));
  const fh = await open(source, "r");
  try {
    for (let n = 0; n < chunks; n++) {
      const slot = n % STORE_WINDOW;
      await inFlight[slot];
      const want = Math.min(chunkBytes, size - n * chunkBytes);
      const buf = buffers[slot]!;
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, n * chunkBytes + got);
        if (bytesRead === 0) return undefined;
        got += bytesRead;
      }
      const part = buf.subarray(0, want);
      adler = adler32Update(adler, part);
      inFlight[slot] = blobs.put(chunkKey(key, n), part);
    }
    await Promise.all(inFlight);
    // More bytes than stat said: the file changed after it was verified.
    const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, size);
    if (bytesRead !== 0) return undefined;
  } finally {
    await Promise.allSettled(inFlight);
    await fh.close();
  }
  return adler32Hex(adler);
}
