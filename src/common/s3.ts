import { S3Client } from "@aws-sdk/client-s3";
import { ErrorCode, OrreryError } from "./errors.js";

export interface S3Location {
  endpoint: string;
  bucket: string;
  prefix: string;
}

export interface S3KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Default credentials: $ORRERY_S3_ACCESS_KEY_ID / $ORRERY_S3_SECRET_ACCESS_KEY (s3rver's dummy key without them). */
export function s3Credentials(): S3KeyPair {
  return {
    accessKeyId: process.env["ORRERY_S3_ACCESS_KEY_ID"] ?? "S3RVER",
    secretAccessKey: process.env["ORRERY_S3_SECRET_ACCESS_KEY"] ?? "S3RVER",
  };
}

/** The env variable with per-endpoint keys: JSON `{"<endpoint URL>": {accessKeyId, secretAccessKey}}`. */
export const S3_KEYS_ENV = "ORRERY_S3_KEYS";

const extraKeys = new Map<string, S3KeyPair>();

function normalEndpoint(endpoint: string): string {
  return endpoint.replace(/\/+$/, "");
}

function keysFromEnv(): Map<string, S3KeyPair> {
  const raw = process.env[S3_KEYS_ENV];
  const keys = new Map<string, S3KeyPair>();
  if (raw === undefined || raw === "") return keys;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new OrreryError(ErrorCode.INVALID_ARGUMENT, `$${S3_KEYS_ENV} is not JSON`, { cause: err });
  }
  for (const [endpoint, key] of Object.entries((parsed ?? {}) as Record<string, Partial<S3KeyPair>>)) {
    if (typeof key?.accessKeyId === "string" && typeof key.secretAccessKey === "string") keys.set(normalEndpoint(endpoint), { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey });
  }
  return keys;
}

/** Adds keys for endpoints (the CLI's, from cluster.json); clients made earlier for them are dropped. */
export function addS3Keys(keys: Record<string, S3KeyPair>): void {
  for (const [endpoint, key] of Object.entries(keys)) {
    extraKeys.set(normalEndpoint(endpoint), key);
    clients.delete(endpoint);
  }
}

/** The key this process has for an endpoint: given by addS3Keys, else $ORRERY_S3_KEYS, else the defaults; undefined when a key map is given and has none for it. */
export function s3KeyFor(endpoint: string): S3KeyPair | undefined {
  const e = normalEndpoint(endpoint);
  const known = extraKeys.get(e) ?? keysFromEnv().get(e);
  if (known) return known;
  const hasMap = extraKeys.size > 0 || (process.env[S3_KEYS_ENV] ?? "") !== "";
  const hasDefault = process.env["ORRERY_S3_ACCESS_KEY_ID"] !== undefined;
  return hasMap && !hasDefault ? undefined : s3Credentials();
}

/** Whether this process holds a key of its own for the endpoint (else it reads there by presigned URL). */
export function hasS3Key(endpoint: string): boolean {
  return s3KeyFor(endpoint) !== undefined;
}

const clients = new Map<string, S3Client>();

/** One client per endpoint, path-style (works with s3rver, MinIO, Ceph RGW and AWS), with that endpoint's key. */
export function s3ClientFor(endpoint: string): S3Client {
  let client = clients.get(endpoint);
  if (!client) {
    const key = s3KeyFor(endpoint);
    if (key === undefined) {
      throw new OrreryError(ErrorCode.PERMISSION_DENIED, `this process has no S3 key for ${endpoint}`, {
        hint: `give it one in $${S3_KEYS_ENV} (the dbb has every site's; an agent only its own site's)`,
      });
    }
    client = new S3Client({
      endpoint,
      region: process.env["ORRERY_S3_REGION"] ?? "us-east-1",
      forcePathStyle: true,
      credentials: { ...key },
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
    clients.set(endpoint, client);
  }
  return client;
}

/** The object key of a file within an RSE: prefix/scope/name. */
export function objectKey(loc: { prefix: string }, scope: string, name: string): string {
  const prefix = loc.prefix.replace(/^\/+|\/+$/g, "");
  return [prefix, scope, name].filter((p) => p !== "").join("/");
}
