// Collection reads: a collection's direct contents page by page, and every
// dataset at or below a DID (what replicas of a CONTAINER page through).
import type { Redis } from "ioredis";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { DidType, Keys } from "./keys.js";
import { didTypeOf, isOpen, notInCatalog, parseCatalogDid } from "./collection-rules.js";
import { didKey, membersKey } from "./collections.js";

/** Entries per page when the caller does not say: a page stays well under NATS's 1 MB message limit. */
export const DEFAULT_CONTENTS_PAGE = 1000;
/** The most a caller may ask for in one page. */
export const MAX_PAGE_SIZE = 10_000;

export interface ContentsEntry {
  did: string;
  type: DidType;
}

export interface ContentsPage {
  /** Of the DID asked about. */
  type: DidType;
  open: boolean;
  contents: ContentsEntry[];
  nextPageToken: string;
}

async function run<T>(pipe: ReturnType<Redis["pipeline"]>): Promise<T[]> {
  return ((await pipe.exec()) ?? []).map(([err, value]) => {
    if (err) throw err;
    return value as T;
  });
}

export function pageSizeOf(pageSize: number, fallback: number): number {
  return pageSize > 0 ? Math.min(pageSize, MAX_PAGE_SIZE) : fallback;
}

/** The type of a DID, or NOT_FOUND. */
export async function typeOfDid(redis: Redis, did: string): Promise<{ type: DidType; open: boolean }> {
  const [type, open] = await redis.hmget(didKey(did), "type", "open");
  const t = didTypeOf(type);
  if (t === undefined) throw notInCatalog(did);
  return { type: t, open: isOpen(t, open) };
}

/**
 * One page of a DID's direct children (Rucio's list_content), sorted within
 * the page. The token is the SSCAN cursor over the members set, so a dataset
 * of a million files is never read in one piece; a FILE has no contents.
 */
export async function contentsPage(redis: Redis, didText: string, pageToken: string, pageSize: number): Promise<ContentsPage> {
  const d = parseCatalogDid(didText);
  const { type, open } = await typeOfDid(redis, d.did);
  if (type === DidType.FILE) return { type, open, contents: [], nextPageToken: "" };
  if (pageToken !== "" && !/^\d+$/.test(pageToken)) throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `contents: "${pageToken}" is not a page token of this query`);
  const size = pageSizeOf(pageSize, DEFAULT_CONTENTS_PAGE);
  const names: string[] = [];
  let cursor = pageToken === "" ? "0" : pageToken;
  do {
    const [next, batch] = await redis.sscan(membersKey(d.did), cursor, "COUNT", size - names.length);
    names.push(...batch);
    cursor = next;
  } while (cursor !== "0" && names.length < size);
  const unique = [...new Set(names)].sort();
  const types = unique.length === 0 ? [] : await run<string | null>(unique.reduce((p, c) => p.hget(didKey(c), "type"), redis.pipeline()));
  const contents = unique.flatMap((did, i) => {
    const t = didTypeOf(types[i]);
    return t === undefined ? [] : [{ did, type: t }];
  });
  return { type, open, contents, nextPageToken: cursor === "0" ? "" : cursor };
}

/** Every DATASET at or below a DID, sorted: itself for a DATASET, the walk down a CONTAINER's tree, none for a FILE. */
export async function datasetsBelow(redis: Redis, did: string, type: DidType): Promise<string[]> {
  if (type === DidType.DATASET) return [did];
  if (type !== DidType.CONTAINER) return [];
  const datasets = new Set<string>();
  // Cycles are refused on attach; `seen` still keeps a damaged catalog from looping.
  const seen = new Set([did]);
  let frontier = [did];
  while (frontier.length > 0) {
    const members = await run<string[]>(frontier.reduce((p, c) => p.smembers(membersKey(c)), redis.pipeline()));
    const children = [...new Set(members.flat())].filter((c) => !seen.has(c));
    for (const c of children) seen.add(c);
    const types = children.length === 0 ? [] : await run<string | null>(children.reduce((p, c) => p.hget(didKey(c), "type"), redis.pipeline()));
    frontier = [];
    children.forEach((c, i) => {
      if (types[i] === DidType.DATASET) datasets.add(c);
      else if (types[i] === DidType.CONTAINER) frontier.push(c);
    });
  }
  return [...datasets].sort();
}

export async function listScopes(redis: Redis): Promise<string[]> {
  return (await redis.smembers(Keys.scopes)).sort();
}
