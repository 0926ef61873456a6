// The files a rule covers, read from the catalog in pipelined batches: a
// FILE is itself, a DATASET its files, a CONTAINER the files of every dataset
// below it. Each file comes with its size, checksums and replicas, grouped by
// the dataset it was found in (what DATASET grouping needs).
import type { Redis } from "ioredis";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { parseDid } from "../../common/did.js";
import { DidType, Keys } from "../catalog/keys.js";
import type { PlacementFile } from "./rule-placement.js";
import { clock, type LockCommands } from "./lock-scripts.js";

export interface RuleFile extends PlacementFile {
  adler32: string;
  md5: string;
}

export interface FileGroup {
  /** The dataset (or file) DID the files were found under. */
  dataset: string;
  files: RuleFile[];
}

/** Files read per script call; a few calls are in flight at once. */
const BATCH = 1000;
const IN_FLIGHT = 4;
/** Containers nest at most this deep (cycles are refused at attach; this guards the walk anyway). */
const MAX_DEPTH = 32;

type Results = [Error | null, unknown][];

async function exec(pipe: ReturnType<Redis["pipeline"]>): Promise<unknown[]> {
  return ((await pipe.exec()) as Results | null ?? []).map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** Datasets (or the file itself) under a DID, with the type of the DID. */
export async function datasetsUnder(redis: Redis, did: string): Promise<{ type: string; datasets: string[] }> {
  const { scope, name } = parseDid(did);
  const type = await redis.hget(Keys.did(scope, name), "type");
  if (type === null) throw new OrreryError(ErrorCode.NOT_FOUND, `DID ${did} is not in the catalog`, { hint: "check the scope and name with `orrery dbb contents`" });
  if (type !== DidType.CONTAINER) return { type, datasets: [did] };
  const datasets = new Set<string>();
  const seen = new Set<string>([did]);
  let level = [did];
  for (let depth = 0; level.length > 0 && depth < MAX_DEPTH; depth++) {
    const pipe = redis.pipeline();
    for (const c of level) pipe.smembers(Keys.members(...split(c)));
    const children = ((await exec(pipe)) as string[][]).flat().filter((c) => !seen.has(c));
    children.forEach((c) => seen.add(c));
    const typePipe = redis.pipeline();
    for (const c of children) typePipe.hget(Keys.did(...split(c)), "type");
    const types = (await exec(typePipe)) as (string | null)[];
    level = [];
    children.forEach((c, i) => {
      if (types[i] === DidType.CONTAINER) level.push(c);
      else if (types[i] === DidType.DATASET) datasets.add(c);
    });
  }
  return { type, datasets: [...datasets].sort() };
}

function split(did: string): [string, string] {
  const { scope, name } = parseDid(did);
  return [scope, name];
}

/** File DIDs of a dataset (or the file itself). */
export async function filesOf(redis: Redis, dataset: string, type: string): Promise<string[]> {
  if (type === DidType.FILE) return [dataset];
  return (await redis.smembers(Keys.members(...split(dataset)))).sort();
}

/**
 * Size, checksums, replicas and (when `ruleId` is given) the rule's existing
 * locks of each file; one script call per batch.
 */
export async function readFiles(redis: Redis & LockCommands, dids: readonly string[], ruleId?: string): Promise<RuleFile[]> {
  const out: RuleFile[] = new Array(dids.length);
  const batches: Promise<void>[] = [];
  let next = 0;
  const worker = async () => {
    while (next < dids.length) {
      const start = next;
      next += BATCH;
      const slice = dids.slice(start, start + BATCH);
      const files = await readBatch(redis, slice, ruleId);
      files.forEach((f, i) => (out[start + i] = f));
    }
  };
  for (let i = 0; i < IN_FLIGHT; i++) batches.push(worker());
  await Promise.all(batches);
  return out.filter((f) => f !== undefined && f.bytes >= 0);
}

async function readBatch(redis: Redis & LockCommands, dids: readonly string[], ruleId: string | undefined): Promise<RuleFile[]> {
  const flat = (await redis.orreryReadFiles(...clock(), ruleId ?? "", ...dids)) as string[];
  return dids.map((did, i) => {
    const [type, bytes, adler32, md5, replicas, locked] = flat.slice(i * 6, i * 6 + 6);
    const states = new Map<string, string>();
    for (const pair of replicas ? replicas.split(",") : []) {
      const at = pair.indexOf("=");
      states.set(pair.slice(0, at), pair.slice(at + 1));
    }
    // Not a file (detached and gone, or a collection): skipped by the caller.
    const known = type === DidType.FILE;
    return { did, bytes: known ? Number(bytes || "0") : -1, adler32: adler32 ?? "", md5: md5 ?? "", replicas: states, locked: new Set(locked ? locked.split(",") : []) };
  });
}
