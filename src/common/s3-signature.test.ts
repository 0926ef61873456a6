import { describe, expect, it } from "vitest";
import { checkSignature, presignGet } from "./s3-signature.js";

const key = { accessKeyId: "site-a-key", secretAccessKey: "site-a-secret" };
const keys = new Map([[key.accessKeyId, key.secretAccessKey]]);

function asIncoming(url: string) {
  const u = new URL(url);
  return { method: "GET", url: `${u.pathname}${u.search}`, headers: { host: u.host } };
}

describe("SigV4 checks of the local S3", () => {
  it("accepts its own presigned GET, refuses it changed, expired, under another key or unsigned", async () => {
    const url = await presignGet("http://127.0.0.1:9000", "site-a-disk", "scope/a b+c.fits", key, 60);
    expect(await checkSignature(asIncoming(url), keys)).toEqual({ ok: true, accessKeyId: key.accessKeyId });
    expect(await checkSignature(asIncoming(url.replace("a%20b", "a%20x")), keys)).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
    const later = new Date(Date.now() + 120_000);
    expect(await checkSignature(asIncoming(url), keys, later)).toMatchObject({ ok: false, code: "AccessDenied", message: "Request has expired" });
    const other = await presignGet("http://127.0.0.1:9000", "site-a-disk", "x", { accessKeyId: "site-b-key", secretAccessKey: "s" }, 60);
    expect(await checkSignature(asIncoming(other), keys)).toMatchObject({ ok: false, code: "InvalidAccessKeyId" });
    expect(await checkSignature({ method: "GET", url: "/site-a-disk/x", headers: { host: "127.0.0.1:9000" } }, keys)).toMatchObject({ ok: false, code: "AccessDenied" });
  });

  it("refuses a malformed Authorization header", async () => {
    const r = await checkSignature({ method: "GET", url: "/b/k", headers: { host: "h", authorization: "AWS4-HMAC-SHA256 Credential=x" } }, keys);
    expect(r).toMatchObject({ ok: false, code: "AuthorizationHeaderMalformed" });
  });
});
