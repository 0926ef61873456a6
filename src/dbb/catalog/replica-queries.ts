// Catalog reads: replicas of a DID and every file of a scope's dataset types.
// Each page is a fixed number of pipelined round trips, whatever the file count.
import type { Redis } from "ioredis";
import { create } from "@bufbuild/protobuf";
import { FileDidSchema, FileWithReplicasSchema, ReplicaSchema, type FileDid, type FileWithReplicas, type Replica } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseDid } from "../../common/did.js";
import { DidType, Keys, checkDatasetType, checkScope } from "./keys.js";
import { datasetsBelow, pageSizeOf } from "./collection-queries.js";
import { membersKey } from "./collections.js";

type Hash = Record<string, string>;

async function run<T>(pipe: ReturnType<Redis["pipeline"]>): Promise<T[]> {
  const results = (await pipe.exec()) ?? [];
  return results.map(([err, value]) => {
    if (err) throw err;
    return value as T;
  });
}

export function fileFromHash(h: Hash): FileDid {
  return create(FileDidSchema, {
    scope: h["scope"] ?? "",
    name: h["name"] ?? "",
    datasetType: h["datasetType"] ?? "",
    dataId: h["dataId"] ?? "{}",
    metadata: h["metadata"] ?? "{}",
    bytes: BigInt(h["bytes"] ?? "0"),
    adler32: h["adler32"] ?? "",
    md5: h["md5"] ?? "",
    validFrom: h["validFrom"] ?? "",
    validTo: h["validTo"] ?? "",
  });
}

export function replicaFromHash(did: string, h: Hash, producedBy = ""): Replica {
  return create(ReplicaSchema, {
    did,
    rse: h["rse"] ?? "",
    state: h["state"] ?? "",
    bytes: BigInt(h["bytes"] ?? "0"),
    adler32: h["adler32"] ?? "",
    md5: h["md5"] ?? "",
    path: h["path"] ?? "",
    producedBy,
  });
}

function byName<T extends { rse: string }>(a: T, b: T): number {
  return a.rse < b.rse ? -1 : a.rse > b.rse ? 1 : 0;
}

/** Files per page when the caller does not say: a page stays well under NATS's 1 MB message limit. */
export const DEFAULT_PAGE_SIZE = 1000;

/** Replicas of many file DIDs (`scope:name`), with the quantum that produced each: two pipelined round trips. */
async function replicasOfFiles(redis: Redis, dids: readonly string[]): Promise<Map<string, Replica[]>> {
  const rsesPipe = redis.pipeline();
  for (const d of dids) {
    const { scope, name } = parseDid(d);
    rsesPipe.smembers(Keys.fileRses(scope, name)).hget(Keys.did(scope, name), "producedBy");
  }
  const fileResults = await run<string[] | string | null>(rsesPipe);
  const pairs: [string, string][] = [];
  const replicaPipe = redis.pipeline();
  dids.forEach((d, i) => {
    const { scope, name } = parseDid(d);
    for (const rse of (fileResults[2 * i] as string[] | undefined) ?? []) {
      pairs.push([d, rse]);
      replicaPipe.hgetall(Keys.replica(rse, scope, name));
    }
  });
  const producedBy = new Map(dids.map((d, i) => [d, (fileResults[2 * i + 1] as string | null) ?? ""]));
  const hashes = pairs.length === 0 ? [] : await run<Hash>(replicaPipe);
  const out = new Map<string, Replica[]>(dids.map((d) => [d, []]));
  pairs.forEach(([d], i) => {
    const h = hashes[i];
    if (h && h["state"] !== undefined) out.get(d)!.push(replicaFromHash(d, h, producedBy.get(d)));
  });
  for (const list of out.values()) list.sort(byName);
  return out;
}

/**
 * One page of the replicas of a FILE DID, or of every file at or below a
 * DATASET or CONTAINER (Rucio's list_replicas resolves collections to their
 * files). The token is `<dataset index>.<SSCAN cursor>` over the sorted
 * datasets below the DID; a file in two of them comes once per dataset, and
 * callers drop the repeats.
 */
export async function replicasPage(redis: Redis, didText: string, pageToken: string, pageSize: number): Promise<{ replicas: Replica[]; nextPageToken: string }> {
  const { scope, name } = parseDid(didText);
  const type = await redis.hget(Keys.did(scope, name), "type");
  if (type === null) {
    throw new OrreryError(ErrorCode.NOT_FOUND, `DID ${didText} is not in the catalog`, { hint: "check the scope and name (orrery dbb ingest registers files)" });
  }
  if (type === DidType.FILE) return { replicas: (await replicasOfFiles(redis, [didText])).get(didText) ?? [], nextPageToken: "" };
  const datasets = await datasetsBelow(redis, didText, type as DidType);
  const m = /^(\d+)\.(\d+)$/.exec(pageToken);
  if (pageToken !== "" && !m) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `replicas: "${pageToken}" is not a page token of this query`);
  let index = m ? Number(m[1]) : 0;
  let cursor = m ? m[2]! : "0";
  const size = pageSizeOf(pageSize, DEFAULT_PAGE_SIZE);
  const files: string[] = [];
  while (index < datasets.length && files.length < size) {
    const [next, batch] = await redis.sscan(membersKey(datasets[index]!), cursor, "COUNT", size - files.length);
    files.push(...batch);
    if (next === "0") {
      index++;
      cursor = "0";
    } else cursor = next;
  }
  const page = [...new Set(files)].sort();
  const byDid = await replicasOfFiles(redis, page);
  return { replicas: page.flatMap((d) => byDid.get(d) ?? []), nextPageToken: index >= datasets.length ? "" : `${index}.${cursor}` };
}

/**
 * One page of the files of a scope and its dataset types, with their replicas.
 * The token is `<type index>.<SSCAN cursor>`: paging walks each type's index
 * set with SSCAN, so a million-file catalog is never read in one piece.
 */
export async function filesPage(
  redis: Redis,
  scope: string,
  datasetTypes: readonly string[],
  pageToken: string,
  pageSize: number,
): Promise<{ files: FileWithReplicas[]; nextPageToken: string }> {
  checkScope(scope);
  const types = [...new Set(datasetTypes)].sort();
  for (const t of types) checkDatasetType(t);
  const m = /^(\d+)\.(\d+)$/.exec(pageToken);
  if (pageToken !== "" && !m) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `files: "${pageToken}" is not a page token of this query`);
  let typeIndex = m ? Number(m[1]) : 0;
  let cursor = m ? m[2]! : "0";
  const size = pageSize > 0 ? pageSize : DEFAULT_PAGE_SIZE;
  const names: string[] = [];
  while (typeIndex < types.length && names.length < size) {
    const [next, batch] = await redis.sscan(Keys.typeIndex(scope, types[typeIndex]!), cursor, "COUNT", size - names.length);
    names.push(...batch);
    if (next === "0") {
      typeIndex++;
      cursor = "0";
    } else cursor = next;
  }
  const nextPageToken = typeIndex >= types.length ? "" : `${typeIndex}.${cursor}`;
  return { files: await filesNamed(redis, scope, names), nextPageToken };
}

async function filesNamed(redis: Redis, scope: string, names: readonly string[]): Promise<FileWithReplicas[]> {
  if (names.length === 0) return [];
  // Files and their RSE sets in one round trip, then every replica in one more.
  const filePipe = redis.pipeline();
  for (const n of names) filePipe.hgetall(Keys.did(scope, n)).smembers(Keys.fileRses(scope, n));
  const fileResults = await run<Hash | string[]>(filePipe);
  const replicaPipe = redis.pipeline();
  const wanted: { index: number; did: string }[] = [];
  const files: FileWithReplicas[] = [];
  names.forEach((n, i) => {
    const h = fileResults[2 * i] as Hash;
    if (h["type"] !== DidType.FILE) return;
    const did = `${scope}:${n}`;
    files.push(create(FileWithReplicasSchema, { file: fileFromHash(h), replicas: [] }));
    for (const rse of (fileResults[2 * i + 1] as string[]).sort()) {
      wanted.push({ index: files.length - 1, did });
      replicaPipe.hgetall(Keys.replica(rse, scope, n));
    }
  });
  const hashes = wanted.length === 0 ? [] : await run<Hash>(replicaPipe);
  wanted.forEach(({ index, did }, i) => {
    const h = hashes[i];
    if (h && h["state"] !== undefined) files[index]!.replicas.push(replicaFromHash(did, h));
  });
  return files;
}
