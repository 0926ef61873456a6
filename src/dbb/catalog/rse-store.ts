// RSEs in Redis: one hash per RSE plus the set of names. Adding an RSE that
// exists replaces it (so `orrery local up` can re-declare its RSEs), and an
// output RSE takes the output flag away from the other RSEs of its site.
import type { Redis } from "ioredis";
import { create } from "@bufbuild/protobuf";
import { RseSchema, type Rse } from "../../gen/orrery/v1/dbb_pb.js";
import { ErrorCode, OrreryError } from "../../common/errors.js";
import { Keys, checkRseName, checkSite } from "./keys.js";
import { StorageTier } from "../../gen/orrery/v1/common_pb.js";
import { storageTiers } from "../../common/wire-enums.js";
import { checkReplies } from "../../common/redis-replies.js";

export function validateRse(input: Rse): Rse {
  const name = checkRseName(input.name, "rse.name");
  const site = checkSite(input.site, "rse.site");
  let endpoint: URL;
  try {
    endpoint = new URL(input.endpoint);
  } catch {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse.endpoint "${input.endpoint}" is not a URL: give the S3 endpoint as http(s)://host:port`);
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse.endpoint "${input.endpoint}" is not http(s): give the S3 endpoint as http(s)://host:port`);
  }
  if (!/^[A-Za-z0-9._-]+$/.test(input.bucket)) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse.bucket "${input.bucket}" is not a bucket name: use letters, digits, '.', '_' and '-'`);
  }
  const tier = input.tier === StorageTier.UNSPECIFIED ? StorageTier.DISK : input.tier;
  if (storageTiers.name(tier) === undefined) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse.tier ${tier} is not a StorageTier: use one of ${storageTiers.names.join(", ")}`);
  }
  if (input.quotaBytes < 0n) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse.quota ${input.quotaBytes} is negative: give bytes >= 0 (0 means no quota)`);
  }
  for (const key of Object.keys(input.attributes)) {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) {
      throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `rse attribute "${key}" is not a valid key: use letters, digits, '_', '.' and '-'`);
    }
  }
  return create(RseSchema, {
    name,
    site,
    endpoint: input.endpoint.replace(/\/+$/, ""),
    bucket: input.bucket,
    prefix: input.prefix.replace(/^\/+|\/+$/g, ""),
    tier,
    attributes: { ...input.attributes },
    quotaBytes: input.quotaBytes,
    output: input.output,
  });
}

function toHash(rse: Rse): Record<string, string> {
  return {
    name: rse.name,
    site: rse.site,
    endpoint: rse.endpoint,
    bucket: rse.bucket,
    prefix: rse.prefix,
    tier: storageTiers.name(rse.tier) ?? "disk",
    attributes: JSON.stringify(rse.attributes),
    quotaBytes: rse.quotaBytes.toString(),
    output: rse.output ? "1" : "0",
  };
}

export function rseFromHash(h: Record<string, string>): Rse | undefined {
  if (h["name"] === undefined) return undefined;
  return create(RseSchema, {
    name: h["name"],
    site: h["site"] ?? "",
    endpoint: h["endpoint"] ?? "",
    bucket: h["bucket"] ?? "",
    prefix: h["prefix"] ?? "",
    tier: storageTiers.value(h["tier"] ?? "disk") ?? StorageTier.DISK,
    attributes: JSON.parse(h["attributes"] ?? "{}") as Record<string, string>,
    quotaBytes: BigInt(h["quotaBytes"] ?? "0"),
    output: h["output"] === "1",
  });
}

export async function listRses(redis: Redis, site = ""): Promise<Rse[]> {
  const names = await redis.smembers(Keys.rses);
  const pipe = redis.pipeline();
  for (const n of names) pipe.hgetall(Keys.rse(n));
  const results = (await pipe.exec()) ?? [];
  const rses: Rse[] = [];
  for (const [err, h] of results) {
    if (err) throw err;
    const rse = rseFromHash(h as Record<string, string>);
    if (rse && (site === "" || rse.site === site)) rses.push(rse);
  }
  return rses.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function getRse(redis: Redis, name: string): Promise<Rse | undefined> {
  return rseFromHash(await redis.hgetall(Keys.rse(name)));
}

/** Stores an RSE (validated) in one MULTI; returns what was stored. */
export async function addRse(redis: Redis, input: Rse): Promise<Rse> {
  const rse = validateRse(input);
  const multi = redis.multi();
  if (rse.output) {
    // One output RSE per site: the others of the site lose the flag.
    for (const other of await listRses(redis, rse.site)) {
      if (other.name !== rse.name && other.output) multi.hset(Keys.rse(other.name), "output", "0");
    }
  }
  multi.del(Keys.rse(rse.name));
  multi.hset(Keys.rse(rse.name), toHash(rse));
  multi.sadd(Keys.rses, rse.name);
  checkReplies(await multi.exec());
  return rse;
}
