// Stage-in: every input of a lease into its scratch directory, from the LMDB
// cache, else from an RSE of this site, else from any RSE with an AVAILABLE
// replica. Every byte is checked against the catalog's size and checksums.
import { createWriteStream } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Checksummer, type FileChecksums } from "../../common/checksum.js";
import { parseDid } from "../../common/did.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { objectKey, s3ClientFor } from "../../common/s3.js";
import type { FileRef } from "../../gen/orrery/v1/common_pb.js";
import type { FileCache } from "../cache/index.js";
import type { DbbLookup } from "./dbb-lookup.js";

export interface StageInContext {
  site: string;
  cache: FileCache;
  dbb: DbbLookup;
  log: Logger;
  signal?: AbortSignal;
}

export interface StagedInput {
  ref: FileRef;
  path: string;
  /** Where the bytes came from: "cache" or an RSE name. */
  source: string;
}

/** Brings one input to `path`; pins its cache entry until `release` is called. Throws STAGE_IN naming the DID. */
export async function stageInFile(ref: FileRef, path: string, ctx: StageInContext): Promise<StagedInput & { release: () => void }> {
  // Without a catalog md5 there is nothing to key or verify a cached copy by.
  const cacheable = ref.md5 !== "";
  const release = cacheable ? ctx.cache.pin(ref.did, ref.md5) : () => {};
  try {
    if (cacheable && (await ctx.cache.writeTo(ref.did, ref.md5, path))) {
      ctx.log.debug({ did: ref.did }, "input from cache");
      return { ref, path, source: "cache", release };
    }
    const problems: string[] = [];
    for await (const rseName of candidateRses(ref, ctx, problems)) {
      ctx.signal?.throwIfAborted();
      const problem = await downloadFrom(rseName, ref, path, ctx);
      if (problem === undefined) {
        // Only verified bytes reach the cache.
        if (cacheable && !(await ctx.cache.put(ref.did, ref.md5, await readFile(path)))) ctx.log.debug({ did: ref.did }, "input not cached: no room");
        return { ref, path, source: rseName, release };
      }
      problems.push(`${rseName}: ${problem}`);
      ctx.log.warn({ did: ref.did, rse: rseName, problem }, "replica not usable");
    }
    throw new OrreryError(ErrorCode.STAGE_IN, `cannot stage in ${ref.did}: ${problems.length > 0 ? problems.join("; ") : "no replica known"}`, {
      hint: `check the file's replicas with: orrery dbb replicas ${ref.did}`,
    });
  } catch (err) {
    release();
    await rm(path, { force: true });
    if (ctx.signal?.aborted) throw err;
    throw err instanceof OrreryError && err.code === ErrorCode.STAGE_IN
      ? err
      : new OrreryError(ErrorCode.STAGE_IN, `cannot stage in ${ref.did}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** RSEs to try, in order: the lease's RSEs at this site, its other RSEs, then the catalog's AVAILABLE replicas. */
async function* candidateRses(ref: FileRef, ctx: StageInContext, problems: string[]): AsyncGenerator<string> {
  const tried = new Set<string>();
  const rses = await ctx.dbb.rseList();
  const siteOf = (name: string) => rses.find((r) => r.name === name)?.site;
  const local = ref.rses.filter((r) => siteOf(r) === ctx.site);
  for (const name of [...local, ...ref.rses.filter((r) => !local.includes(r))]) {
    if (tried.has(name)) continue;
    tried.add(name);
    yield name;
  }
  let replicas;
  try {
    replicas = await ctx.dbb.availableReplicas(ref.did);
  } catch (err) {
    problems.push(`the catalog could not list replicas (${err instanceof Error ? err.message : String(err)})`);
    return;
  }
  const ordered = [...replicas.filter((r) => siteOf(r.rse) === ctx.site), ...replicas.filter((r) => siteOf(r.rse) !== ctx.site)];
  for (const r of ordered) {
    if (tried.has(r.rse)) continue;
    tried.add(r.rse);
    yield r.rse;
  }
}

/** Streams the object to `path` while checksumming; returns what is wrong, or undefined when the bytes match. */
async function downloadFrom(rseName: string, ref: FileRef, path: string, ctx: StageInContext): Promise<string | undefined> {
  const rse = await ctx.dbb.rse(rseName);
  if (rse === undefined) return "not an RSE the data backbone knows";
  const { scope, name } = parseDid(ref.did);
  const key = objectKey(rse, scope, name);
  let got: FileChecksums;
  try {
    const res = await s3ClientFor(rse.endpoint).send(new GetObjectCommand({ Bucket: rse.bucket, Key: key }), {
      ...(ctx.signal ? { abortSignal: ctx.signal } : {}),
    });
    if (res.Body === undefined) return `s3://${rse.bucket}/${key} has no body`;
    const sum = new Checksummer();
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sum.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(res.Body as Readable, tap, createWriteStream(path), ctx.signal ? { signal: ctx.signal } : {});
    got = sum.digest();
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    return `download of s3://${rse.bucket}/${key} failed: ${describe(err)}`;
  }
  const want = { bytes: Number(ref.bytes), adler32: ref.adler32, md5: ref.md5 };
  if (got.bytes !== want.bytes) return `size mismatch: ${got.bytes} bytes, the catalog says ${want.bytes}`;
  if (want.adler32 !== "" && got.adler32 !== want.adler32) return `adler32 mismatch: ${got.adler32}, the catalog says ${want.adler32}`;
  if (want.md5 !== "" && got.md5 !== want.md5) return `md5 mismatch: ${got.md5}, the catalog says ${want.md5}`;
  return undefined;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name !== "Error" && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
}
