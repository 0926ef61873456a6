// AWS Signature V4 for our own S3 endpoints: checking the signature of an
// incoming request (the local S3 server, which s3rver alone does not do) and
// presigning a GET (the dbb's read grants for agents of other sites). Both use
// @smithy/signature-v4, the AWS SDK's own signer, so they agree with it exactly.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import type { HttpRequest } from "@smithy/types";

import type { S3KeyPair } from "./s3.js";

export type { S3KeyPair };

/** SHA-256 and HMAC-SHA-256 on node:crypto, in the shape the signer wants. */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    if (secret === undefined) this.hash = createHash("sha256");
    else this.hash = createHmac("sha256", typeof secret === "string" ? secret : bytesOf(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(typeof data === "string" ? data : bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

function signer(key: S3KeyPair, region: string, service = "s3"): SignatureV4 {
  return new SignatureV4({ service, region, credentials: key, sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
}

/** What the server saw: method, raw path (still URI-encoded), query and headers (lower-case names). */
export interface IncomingRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export type SignatureCheck =
  | { ok: true; accessKeyId: string }
  | { ok: false; code: "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "AuthorizationHeaderMalformed"; message: string; accessKeyId?: string };

const AUTH_PARAMS = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"];

/** Checks a request signed with SigV4 in its Authorization header or its query (a presigned URL) against the known keys. */
export async function checkSignature(req: IncomingRequest, keys: ReadonlyMap<string, string>, now = new Date()): Promise<SignatureCheck> {
  const [rawPath, rawQuery = ""] = splitOnce(req.url, "?");
  const params = new URLSearchParams(rawQuery);
  const header = headerValue(req.headers, "authorization");
  const presigned = params.has("X-Amz-Signature");
  if (header === undefined && !presigned) return { ok: false, code: "AccessDenied", message: "Anonymous access is not allowed: sign the request (AWS Signature Version 4)" };
  const parts = presigned
    ? { credential: params.get("X-Amz-Credential") ?? "", signedHeaders: params.get("X-Amz-SignedHeaders") ?? "", signature: params.get("X-Amz-Signature") ?? "", date: params.get("X-Amz-Date") ?? "" }
    : parseAuthorization(header ?? "", headerValue(req.headers, "x-amz-date") ?? "");
  if (parts === undefined) return { ok: false, code: "AuthorizationHeaderMalformed", message: "The authorization header is not AWS4-HMAC-SHA256 with Credential, SignedHeaders and Signature" };
  const [accessKeyId = "", , region = "", service = ""] = parts.credential.split("/");
  const secret = keys.get(accessKeyId);
  if (secret === undefined) return { ok: false, code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records.", accessKeyId };
  const signingDate = parseAmzDate(parts.date);
  if (signingDate === undefined) return { ok: false, code: "AccessDenied", message: "AWS authentication requires a valid X-Amz-Date", accessKeyId };

  const signedNames = parts.signedHeaders.split(";").filter((h) => h !== "");
  const headers: Record<string, string> = {};
  for (const name of signedNames) headers[name] = headerValue(req.headers, name) ?? "";
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of params) {
    if (presigned && AUTH_PARAMS.includes(k)) continue;
    const prev = query[k];
    query[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  const host = headers["host"] ?? "";
  const request: HttpRequest = { method: req.method, protocol: "http:", hostname: host.split(":")[0] ?? "", path: rawPath, query, headers };
  const s = signer({ accessKeyId, secretAccessKey: secret }, region, service);
  let expected: string;
  if (presigned) {
    const expiresIn = Number(params.get("X-Amz-Expires") ?? "0");
    if (!(expiresIn > 0) || now.getTime() > signingDate.getTime() + expiresIn * 1000) return { ok: false, code: "AccessDenied", message: "Request has expired", accessKeyId };
    const signed = await s.presign(request, { signingDate, expiresIn, signableHeaders: new Set(signedNames) });
    expected = String(signed.query?.["X-Amz-Signature"] ?? "");
  } else {
    delete request.headers["x-amz-date"];
    const signed = await s.sign(request, { signingDate, signableHeaders: new Set(signedNames) });
    expected = /Signature=([0-9a-f]+)/.exec(String(signed.headers["authorization"] ?? ""))?.[1] ?? "";
  }
  if (!sameText(expected, parts.signature)) {
    return { ok: false, code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the signature you provided. Check your key and signing method.", accessKeyId };
  }
  return { ok: true, accessKeyId };
}

/** A GET of one object valid for `expiresInSeconds`, signed with `key` (what the AWS SDK's presigner makes). */
export async function presignGet(endpoint: string, bucket: string, key: string, credentials: S3KeyPair, expiresInSeconds: number, region = "us-east-1"): Promise<string> {
  const url = new URL(endpoint);
  const path = `${url.pathname.replace(/\/+$/, "")}/${encodeSegment(bucket)}/${key.split("/").map(encodeSegment).join("/")}`;
  const request: HttpRequest = { method: "GET", protocol: url.protocol, hostname: url.hostname, path, query: {}, headers: { host: url.host } };
  if (url.port !== "") request.port = Number(url.port);
  const signed = await signer(credentials, region).presign(request, { expiresIn: expiresInSeconds });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {})) for (const one of Array.isArray(v) ? v : [v]) query.append(k, String(one));
  return `${url.protocol}//${url.host}${path}?${query.toString().replace(/\+/g, "%20")}`;
}

function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function parseAuthorization(header: string, date: string): { credential: string; signedHeaders: string; signature: string; date: string } | undefined {
  const m = /^AWS4-HMAC-SHA256\s+(.*)$/.exec(header.trim());
  if (!m) return undefined;
  const fields = new Map(
    m[1]!.split(",").map((part) => {
      const [k, ...v] = part.trim().split("=");
      return [k ?? "", v.join("=")] as const;
    }),
  );
  const credential = fields.get("Credential");
  const signedHeaders = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (credential === undefined || signedHeaders === undefined || signature === undefined) return undefined;
  return { credential, signedHeaders, signature, date };
}

/** 20240102T030405Z → Date */
function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

function headerValue(headers: IncomingRequest["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(",") : v;
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
