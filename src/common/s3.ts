import { S3Client } from "@aws-sdk/client-s3";

export interface S3Location {
  endpoint: string;
  bucket: string;
  prefix: string;
}

/** Credentials come from the process environment (s3rver accepts its defaults). */
export function s3Credentials(): { accessKeyId: string; secretAccessKey: string } {
  return {
    accessKeyId: process.env["ORRERY_S3_ACCESS_KEY_ID"] ?? "S3RVER",
    secretAccessKey: process.env["ORRERY_S3_SECRET_ACCESS_KEY"] ?? "S3RVER",
  };
}

const clients = new Map<string, S3Client>();

/** One client per endpoint, path-style (works with s3rver, MinIO, Ceph RGW and AWS). */
export function s3ClientFor(endpoint: string): S3Client {
  let client = clients.get(endpoint);
  if (!client) {
    client = new S3Client({
      endpoint,
      region: process.env["ORRERY_S3_REGION"] ?? "us-east-1",
      forcePathStyle: true,
      credentials: s3Credentials(),
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
