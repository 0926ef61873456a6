// Ingest: stream each file to the RSE's bucket while computing its size and
// checksums, then register the replicas in batches through the dbb API, so
// the catalog holds them when ingest returns.
import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Upload } from "@aws-sdk/lib-storage";
import { Checksummer, type FileChecksums } from "../../common/checksum.js";
import { dataIdKey } from "../../common/data-id.js";
import type { DbbClient, ReplicaRegistrationInit } from "../../common/dbb-client.js";
import { parseDid } from "../../common/did.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { objectKey, s3ClientFor } from "../../common/s3.js";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import type { IngestEntry } from "./entries.js";

export interface IngestProgress {
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
}

export interface IngestOptions {
  client: DbbClient;
  rse: string;
  entries: readonly IngestEntry[];
  /** A DATASET DID (`scope:name`) the files are attached to, made if absent. */
  dataset?: string;
  onProgress?: (progress: IngestProgress) => void;
  /** Files uploaded at once (default 4). */
  concurrency?: number;
  /** Registrations per catalog request (default 100). */
  batchSize?: number;
}

export interface IngestResult {
  ingested: number;
  bytes: number;
}

const PROGRESS_INTERVAL_MS = 200;

export async function ingest(opts: IngestOptions): Promise<IngestResult> {
  if (opts.dataset) await checkDataset(opts.client, opts.dataset);
  const rse = (await opts.client.rseList()).find((r) => r.name === opts.rse);
  if (!rse) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `RSE "${opts.rse}" is not in the catalog`, {
      hint: "see `orrery dbb rse list`, or add it with `orrery dbb rse add`",
    });
  }
  const entries = opts.entries;
  const progress: IngestProgress = { files: 0, totalFiles: entries.length, bytes: 0, totalBytes: entries.reduce((n, e) => n + e.size, 0) };
  let lastReport = 0;
  const report = (force: boolean) => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastReport < PROGRESS_INTERVAL_MS)) return;
    lastReport = now;
    opts.onProgress({ ...progress });
  };

  const batchSize = opts.batchSize ?? 100;
  let failed = false;
  let pending: ReplicaRegistrationInit[] = [];
  let registering: Promise<unknown> = Promise.resolve();
  let registered = 0;
  const flush = () => {
    const batch = pending;
    pending = [];
    if (batch.length === 0) return registering;
    registering = registering.then(async () => {
      registered += await opts.client.register(batch);
    });
    registering.catch(() => {
      failed = true; // no point uploading more when the catalog refuses
    });
    return registering;
  };

  let next = 0;
  const worker = async () => {
    while (!failed && next < entries.length) {
      const entry = entries[next++]!;
      const key = objectKey(rse, entry.scope, entry.name);
      const sums = await upload(rse, key, entry, (n) => {
        progress.bytes += n;
        report(false);
      });
      pending.push(registration(entry, rse, key, sums, opts.dataset ?? ""));
      progress.files++;
      report(true);
      // Not awaited: uploads go on while a batch registers. Its failure is kept by flush (failed) and thrown by the final await.
      if (pending.length >= batchSize) flush().catch(() => undefined);
    }
  };
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 4, entries.length) }, () =>
    worker().catch((err: unknown) => {
      failed = true;
      throw err;
    }),
  );
  const outcomes = await Promise.allSettled(workers);
  const uploadError = outcomes.find((o) => o.status === "rejected");
  await flush(); // what was uploaded is registered even when a later upload failed
  if (uploadError) throw uploadError.reason;
  return { ingested: registered, bytes: progress.bytes };
}

/** Refuses, before anything is uploaded, a dataset the registrations would be refused for. */
async function checkDataset(client: DbbClient, did: string): Promise<void> {
  parseDid(did);
  const found = await client.describe(did);
  if (found === undefined) return; // made by the first registration
  if (found.type !== "DATASET") {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--dataset ${did} is a ${found.type}: files can be attached only to a DATASET`, {
      hint: "give a DATASET (or a new name, made for you); attach that dataset to the container with `orrery dbb attach`",
    });
  }
  if (!found.open) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `--dataset ${did} is closed: nothing can be attached to a closed collection`, { hint: "ingest into another dataset" });
  }
}

async function upload(rse: Rse, key: string, entry: IngestEntry, onBytes: (n: number) => void): Promise<FileChecksums> {
  const sum = new Checksummer();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sum.update(chunk);
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  const reading = pipeline(createReadStream(entry.file), tap);
  const where = `${rse.endpoint}/${rse.bucket}/${key}`;
  try {
    await Promise.all([new Upload({ client: s3ClientFor(rse.endpoint), params: { Bucket: rse.bucket, Key: key, Body: tap } }).done(), reading]);
  } catch (err) {
    tap.destroy();
    const name = (err as { name?: string }).name;
    if (name === "NoSuchBucket") {
      throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `bucket ${rse.bucket} of RSE ${rse.name} does not exist at ${rse.endpoint}`, {
        cause: err,
        hint: "create the bucket, or fix the RSE with `orrery dbb rse add`",
      });
    }
    if ((err as NodeJS.ErrnoException).syscall === "open" || (err as NodeJS.ErrnoException).syscall === "read") {
      throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `${entry.file} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    throw new OrreryError(ErrorCode.UNAVAILABLE, `cannot upload ${entry.scope}:${entry.name} to S3 at ${where}: ${(err as Error).message}`, {
      cause: err,
      hint: `check that the S3 endpoint of RSE ${rse.name} is up and its key is given (the cluster file's, $ORRERY_S3_KEYS or $ORRERY_S3_ACCESS_KEY_ID)`,
    });
  }
  return sum.digest();
}

function registration(entry: IngestEntry, rse: Rse, key: string, sums: FileChecksums, collection: string): ReplicaRegistrationInit {
  return {
    file: {
      scope: entry.scope,
      name: entry.name,
      datasetType: entry.datasetType,
      dataId: dataIdKey(entry.dataId),
      metadata: JSON.stringify(entry.metadata),
      bytes: BigInt(sums.bytes),
      adler32: sums.adler32,
      md5: sums.md5,
      validFrom: entry.validFrom,
      validTo: entry.validTo,
    },
    rse: rse.name,
    path: key,
    collection,
    originSite: rse.site,
  };
}
