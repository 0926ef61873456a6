// Stage-in: every input of a lease into its scratch directory, from the LMDB
// cache, else from an RSE of this site, else from any RSE with an AVAILABLE
// replica. Every byte is checked against the catalog's size and checksums; a
// replica whose bytes do not match is declared BAD to the data backbone
// (Rucio's declare_bad_file_replicas) and the next replica is tried. A cache
// hit is checked against adler32 as it is written; a corrupt entry is dropped
// and the input fetched from storage again, never handed to the payload.
import { rm } from "node:fs/promises";
import type { FileChecksums } from "../../common/checksum.js";
import { parseDid } from "../../common/did.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { checksumProblem, describeError, fetchObject } from "../../common/replica-fetch.js";
import { hasS3Key, objectKey } from "../../common/s3.js";
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
    if (cacheable) {
      // The cache checks adler32 over every byte it writes; a corrupt entry is dropped and its partial file removed.
      const hit = await ctx.cache.writeTo(ref.did, ref.md5, path, { bytes: Number(ref.bytes), adler32: ref.adler32 });
      if (hit.kind === "hit") {
        ctx.log.debug({ did: ref.did }, "input from cache");
        return { ref, path, source: "cache", release };
      }
      if (hit.kind === "corrupt") ctx.log.warn({ did: ref.did, problem: hit.problem }, "cache entry corrupt: dropped, fetching the input from storage");
    }
    const problems: string[] = [];
    for await (const rseName of candidateRses(ref, ctx, problems)) {
      ctx.signal?.throwIfAborted();
      const outcome = await downloadFrom(rseName, ref, path, ctx);
      if (outcome.kind === "ok") {
        if (cacheable) await cacheInput(ref, path, ctx);
        return { ref, path, source: rseName, release };
      }
      problems.push(`${rseName}: ${outcome.problem}`);
      ctx.log.warn({ did: ref.did, rse: rseName, problem: outcome.problem }, "replica not usable");
      if (outcome.kind === "mismatch") await reportBad(ref.did, rseName, outcome.got, outcome.problem, ctx);
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

/** Puts verified bytes in the cache, streamed from the staged file; a failure to cache never fails the stage-in. */
async function cacheInput(ref: FileRef, path: string, ctx: StageInContext): Promise<void> {
  try {
    if (!(await ctx.cache.put(ref.did, ref.md5, path, ref.adler32))) ctx.log.debug({ did: ref.did }, "input not cached: no room, or its file changed");
  } catch (err) {
    ctx.log.warn({ did: ref.did, err }, "input not cached");
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

type Download = { kind: "ok" } | { kind: "failed"; problem: string } | { kind: "mismatch"; problem: string; got: FileChecksums };

/** Streams the object to `path` while checksumming; a mismatch with the lease's values is told apart from a failed read. */
async function downloadFrom(rseName: string, ref: FileRef, path: string, ctx: StageInContext): Promise<Download> {
  const rse = await ctx.dbb.rse(rseName);
  if (rse === undefined) return { kind: "failed", problem: "not an RSE the data backbone knows" };
  const { scope, name } = parseDid(ref.did);
  const key = objectKey(rse, scope, name);
  let got: FileChecksums;
  try {
    // At a site whose S3 key this agent lacks, it reads by a presigned URL the dbb gives.
    const url = hasS3Key(rse.endpoint) ? undefined : await ctx.dbb.replicaUrl(ref.did, rse.name);
    got = await fetchObject({ endpoint: rse.endpoint, bucket: rse.bucket, key, ...(url !== undefined ? { url } : {}) }, path, ctx.signal ? { signal: ctx.signal } : {});
  } catch (err) {
    if (ctx.signal?.aborted) throw err;
    return { kind: "failed", problem: `download of s3://${rse.bucket}/${key} failed: ${describeError(err)}` };
  }
  const problem = checksumProblem(got, ref);
  return problem === undefined ? { kind: "ok" } : { kind: "mismatch", problem, got };
}

/**
 * Declares an AVAILABLE replica BAD, unless the catalog's values now match the bytes
 * read: then the lease carried a file's older checksums and the replica is
 * fine. A failure to report is logged; stage-in goes on to the next replica.
 */
async function reportBad(did: string, rse: string, got: FileChecksums, reason: string, ctx: StageInContext): Promise<void> {
  try {
    const current = (await ctx.dbb.replicas(did)).find((r) => r.rse === rse);
    // Only an AVAILABLE replica promises its bytes; one being copied or deleted may differ.
    if (current?.state !== "AVAILABLE") return;
    if (checksumProblem(got, current) === undefined) {
      ctx.log.warn({ did, rse }, "the lease's checksums differ from the catalog's, which match the replica: not declared BAD");
      return;
    }
    const state = await ctx.dbb.declareBad(did, rse, reason);
    ctx.log.warn({ did, rse, reason, state }, "replica declared BAD");
  } catch (err) {
    ctx.log.warn({ did, rse, err }, "could not declare the replica BAD");
  }
}
