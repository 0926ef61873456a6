// One verified S3 → S3 copy. A file of one part is read and verified, then
// put; a larger one streams into a lib-storage multipart Upload while size,
// adler32 and md5 are computed on the way, so it is read once and never held
// whole in memory. The copy counts only if it matches the catalog.
import { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Checksummer, type FileChecksums } from "../../common/checksum.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { createLogger } from "../../common/logger.js";
import { s3ClientFor } from "../../common/s3.js";

const log = createLogger("dbb-s3-copy");

export interface ObjectLocation {
  endpoint: string;
  bucket: string;
  /** The object key within the bucket (a replica's path). */
  path: string;
}

export interface ExpectedContent {
  bytes: bigint | number;
  adler32: string;
  md5: string;
}

export interface CopyOptions {
  /** Bytes read from the source so far; called as the stream flows. */
  onProgress?: (bytes: number) => void;
  /** Aborts the read and the upload (a multipart upload is aborted too). */
  signal?: AbortSignal;
  /** Part size of the multipart upload (default 8 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts uploaded at once (default 4). */
  queueSize?: number;
}

export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

function where(loc: ObjectLocation): string {
  return `${loc.endpoint}/${loc.bucket}/${loc.path}`;
}

/**
 * Copies `source` to `destination` and checks the bytes that went through
 * against `expected`. A mismatch deletes the destination object and throws
 * CHECKSUM_MISMATCH naming what differed (the source holds other bytes than
 * the catalog says); any other trouble throws UNAVAILABLE (worth a retry).
 */
export async function copyVerified(source: ObjectLocation, destination: ObjectLocation, expected: ExpectedContent, opts: CopyOptions = {}): Promise<FileChecksums> {
  const want = { bytes: Number(expected.bytes), adler32: expected.adler32.toLowerCase(), md5: expected.md5.toLowerCase() };
  const abort = new AbortController();
  const onAbort = () => abort.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    let got: GetObjectCommandOutput;
    try {
      got = await s3ClientFor(source.endpoint).send(new GetObjectCommand({ Bucket: source.bucket, Key: source.path }), { abortSignal: abort.signal });
    } catch (err) {
      throw failure(`cannot read the source ${where(source)}`, err);
    }
    const body = got.Body as Readable | undefined;
    if (!body) throw new OrreryError(ErrorCode.UNAVAILABLE, `the source ${where(source)} answered without a body`);
    const length = got.ContentLength;
    if (length !== undefined && length !== want.bytes) {
      // The object is not the file the catalog knows: do not spend a copy on it.
      body.destroy();
      throw new OrreryError(ErrorCode.CHECKSUM_MISMATCH, `the source ${where(source)} has ${length} bytes, the catalog says ${want.bytes}`);
    }

    const sum = new Checksummer();
    const partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (length !== undefined && length <= partSize) {
      // One part: read and verify it whole first, so a damaged source never reaches the destination.
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of body) {
          sum.update(chunk as Buffer);
          opts.onProgress?.(sum.bytes);
          chunks.push(chunk as Buffer);
        }
      } catch (err) {
        throw failure(`cannot read the source ${where(source)}`, err);
      }
      const actual = sum.digest();
      verify(actual, length, want, source);
      try {
        await s3ClientFor(destination.endpoint).send(
          new PutObjectCommand({ Bucket: destination.bucket, Key: destination.path, Body: Buffer.concat(chunks, actual.bytes), ContentLength: actual.bytes }),
          { abortSignal: abort.signal },
        );
      } catch (err) {
        throw failure(`cannot copy ${where(source)} to ${where(destination)}`, err);
      }
      return actual;
    }
    const counted = Readable.from(
      (async function* () {
        for await (const chunk of body) {
          const bytes = chunk as Buffer;
          sum.update(bytes);
          opts.onProgress?.(sum.bytes);
          yield bytes;
        }
      })(),
    );
    const upload = new Upload({
      client: s3ClientFor(destination.endpoint),
      params: { Bucket: destination.bucket, Key: destination.path, Body: counted },
      partSize,
      queueSize: opts.queueSize ?? 4,
      abortController: abort,
    });
    try {
      await upload.done();
    } catch (err) {
      body.destroy();
      throw failure(`cannot copy ${where(source)} to ${where(destination)}`, err);
    }
    const actual = sum.digest();
    try {
      verify(actual, length, want, source);
    } catch (err) {
      await deleteQuietly(destination);
      throw err;
    }
    return actual;
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}

/** Throws unless the bytes read are the whole object and the catalog's file. */
function verify(actual: FileChecksums, length: number | undefined, want: FileChecksums, source: ObjectLocation): void {
  if (length !== undefined && actual.bytes !== length) {
    // A stream cut short is a broken connection, not bad bytes at the source.
    throw new OrreryError(ErrorCode.UNAVAILABLE, `the source ${where(source)} sent ${actual.bytes} of its ${length} bytes`);
  }
  const differs = mismatch(actual, want);
  if (differs) {
    throw new OrreryError(ErrorCode.CHECKSUM_MISMATCH, `the bytes of ${where(source)} do not match the catalog: ${differs}`, {
      hint: "the source replica is damaged; another replica is needed",
    });
  }
}

/** Which of size, adler32 and md5 differ, in words; undefined when none does. */
function mismatch(actual: FileChecksums, want: FileChecksums): string | undefined {
  const parts: string[] = [];
  if (actual.bytes !== want.bytes) parts.push(`size ${actual.bytes} bytes, expected ${want.bytes}`);
  if (actual.adler32 !== want.adler32) parts.push(`adler32 ${actual.adler32}, expected ${want.adler32}`);
  if (actual.md5 !== want.md5) parts.push(`md5 ${actual.md5}, expected ${want.md5}`);
  return parts.length === 0 ? undefined : parts.join("; ");
}

function failure(what: string, err: unknown): OrreryError {
  if (err instanceof OrreryError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new OrreryError(ErrorCode.UNAVAILABLE, `${what}: ${message}`, { cause: err });
}

async function deleteQuietly(loc: ObjectLocation): Promise<void> {
  try {
    await s3ClientFor(loc.endpoint).send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: loc.path }));
  } catch (err) {
    // The replica is not AVAILABLE in the catalog, so a leftover object is only wasted space.
    log.warn({ destination: where(loc), err }, "could not delete a copy that failed verification");
  }
}
