// Stage-out: outputs and the provenance record go to this site's output RSE;
// each output is then registered with the DBB through an acknowledged
// JetStream publish, so a reported success means the outputs are catalogued.
import { createReadStream } from "node:fs";
import { Transform } from "node:stream";
import { Upload } from "@aws-sdk/lib-storage";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { Checksummer, type FileChecksums } from "../../common/checksum.js";
import { parseDid } from "../../common/did.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { objectKey, s3ClientFor } from "../../common/s3.js";
import type { FileRef } from "../../gen/orrery/v1/common_pb.js";
import type { Rse } from "../../gen/orrery/v1/dbb_pb.js";
import type { DbbLookup } from "./dbb-lookup.js";

export interface ProducedOutput {
  ref: FileRef;
  path: string;
}

export interface StagedOutput extends FileChecksums {
  ref: FileRef;
  rse: string;
  /** Object key within the RSE's bucket. */
  key: string;
}

function stageOutError(what: string, err: unknown): OrreryError {
  if (err instanceof OrreryError && err.code === ErrorCode.STAGE_OUT) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new OrreryError(ErrorCode.STAGE_OUT, `${what}: ${why}`, { cause: err, hint: "check that the site's output RSE is reachable" });
}

/** Uploads every output to `rse`, checksumming the bytes as they are sent. */
export async function uploadOutputs(outputs: readonly ProducedOutput[], rse: Rse, signal?: AbortSignal): Promise<StagedOutput[]> {
  const staged: StagedOutput[] = [];
  for (const out of outputs) {
    signal?.throwIfAborted();
    const { scope, name } = parseDid(out.ref.did);
    const key = objectKey(rse, scope, name);
    try {
      const sum = new Checksummer();
      const body = createReadStream(out.path).pipe(
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            sum.update(chunk);
            done(null, chunk);
          },
        }),
      );
      const upload = new Upload({ client: s3ClientFor(rse.endpoint), params: { Bucket: rse.bucket, Key: key, Body: body } });
      // An abort that fails found the upload already over; upload.done() reports how.
      const abort = () => {
        upload.abort().catch(() => undefined);
      };
      signal?.addEventListener("abort", abort, { once: true });
      try {
        await upload.done();
      } finally {
        signal?.removeEventListener("abort", abort);
      }
      staged.push({ ...sum.digest(), ref: out.ref, rse: rse.name, key });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw stageOutError(`cannot upload ${out.ref.did} to ${rse.name} (s3://${rse.bucket}/${key})`, err);
    }
  }
  return staged;
}

/** Stores the quantum's provenance record at `provenance/<quantum>/<attempt>.json` in `scope`; returns its key. */
export async function uploadProvenance(rse: Rse, scope: string, quantumId: string, attempt: number, record: unknown): Promise<string> {
  const key = objectKey(rse, scope, `provenance/${quantumId}/${attempt}.json`);
  try {
    await s3ClientFor(rse.endpoint).send(
      new PutObjectCommand({ Bucket: rse.bucket, Key: key, Body: JSON.stringify(record, null, 2), ContentType: "application/json" }),
    );
  } catch (err) {
    throw stageOutError(`cannot upload the provenance of quantum ${quantumId} to ${rse.name}`, err);
  }
  return key;
}

export interface RegistrationContext {
  site: string;
  quantumId: string;
  attempt: number;
  /** The DATASET outputs join (one per task and run). */
  collection: string;
  /** The CONTAINER that dataset joins (one per run); empty for none. */
  container: string;
}

/** Registers every staged output with the DBB; resolves once JetStream has acknowledged each. */
export async function registerOutputs(staged: readonly StagedOutput[], dbb: DbbLookup, ctx: RegistrationContext): Promise<void> {
  for (const out of staged) {
    const { scope, name } = parseDid(out.ref.did);
    await dbb.register(
      {
        file: {
          scope,
          name,
          datasetType: out.ref.datasetType,
          dataId: out.ref.dataId,
          metadata: out.ref.metadata,
          bytes: BigInt(out.bytes),
          adler32: out.adler32,
          md5: out.md5,
        },
        rse: out.rse,
        path: out.key,
        collection: ctx.collection,
        container: ctx.container,
        originSite: ctx.site,
        producedBy: ctx.quantumId,
      },
      `${ctx.quantumId}/${ctx.attempt}/${out.ref.did}`,
    );
  }
}
