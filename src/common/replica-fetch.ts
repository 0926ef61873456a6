// Streams a replica's object from S3 to a local file while computing its
// size, adler32 and md5, so a reader (agent stage-in, `orrery dbb download`)
// verifies every byte without holding the file in memory; and the one
// comparison with the catalog's values both use.
import { createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Checksummer, type FileChecksums } from "./checksum.js";
import { s3ClientFor } from "./s3.js";

export interface ObjectLocation {
  endpoint: string;
  bucket: string;
  key: string;
  /** A presigned GET of the object: read through it instead of with a key of ours (a site we hold no key for). */
  url?: string;
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** Called with each chunk's length as it is written (progress). */
  onBytes?: (n: number) => void;
}

/** Writes the object to `path` (created or truncated) and returns what was written; throws on any S3 or file error. */
export async function fetchObject(loc: ObjectLocation, path: string, opts: FetchOptions = {}): Promise<FileChecksums> {
  const body = loc.url !== undefined ? await fetchPresigned(loc, loc.url, opts.signal) : await fetchSigned(loc, opts.signal);

  const sum = new Checksummer();
  const onBytes = opts.onBytes;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sum.update(chunk);
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  await pipeline(body, tap, createWriteStream(path), opts.signal ? { signal: opts.signal } : {});
  return sum.digest();
}

async function fetchSigned(loc: ObjectLocation, signal: AbortSignal | undefined): Promise<Readable> {
  const res = await s3ClientFor(loc.endpoint).send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }), signal ? { abortSignal: signal } : {});
  if (res.Body === undefined) throw new Error(`s3://${loc.bucket}/${loc.key} has no body`);
  return res.Body as Readable;
}

async function fetchPresigned(loc: ObjectLocation, url: string, signal: AbortSignal | undefined): Promise<Readable> {
  const res = await fetch(url, signal ? { signal } : {});
  if (!res.ok || res.body === null) {
    const text = (await res.text().catch(() => "")).slice(0, 2000);
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    throw new Error(`${code}: reading s3://${loc.bucket}/${loc.key} by presigned URL failed`);
  }
  return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
}

export interface CatalogChecksums {
  bytes: number | bigint;
  adler32: string;
  md5: string;
}

/** What differs between the bytes read and the catalog's values (size, then adler32, then md5), or undefined when they match. */
export function checksumProblem(got: FileChecksums, want: CatalogChecksums): string | undefined {
  if (got.bytes !== Number(want.bytes)) return `size mismatch: ${got.bytes} bytes, the catalog says ${Number(want.bytes)}`;
  if (want.adler32 !== "" && got.adler32 !== want.adler32) return `adler32 mismatch: ${got.adler32}, the catalog says ${want.adler32}`;
  if (want.md5 !== "" && got.md5 !== want.md5) return `md5 mismatch: ${got.md5}, the catalog says ${want.md5}`;
  return undefined;
}

/** An error's message with its type when the message does not say it (S3 errors: `NoSuchKey: …`). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name !== "Error" && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
}
