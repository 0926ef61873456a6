import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { copyVerified } from "../src/dbb/index.js";
import { checksumBytes } from "../src/common/checksum.js";
import { s3ClientFor } from "../src/common/s3.js";
import { isOrreryError } from "../src/common/errors.js";
import { getObject, headObject, putObject, startTwoSites, type TwoSites } from "./fixtures/two-sites.js";

describe("verified S3 → S3 copy", () => {
  let sites: TwoSites;
  const src = (path: string) => ({ ...sites.a, path });
  const dst = (path: string) => ({ ...sites.b, path });

  beforeAll(async () => {
    sites = await startTwoSites("xcopy");
  });
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await sites?.stop();
  });

  it("copies a small file in one PUT and a 20 MiB file in parts, with the catalog's checksums", async () => {
    const small = randomBytes(70_000);
    const big = randomBytes(20 * 1024 * 1024 + 12_345);
    const smallSums = await putObject(sites.a, "hsc/small.fits", small);
    const bigSums = await putObject(sites.a, "hsc/big.fits", big);

    // What the copy asked of the destination endpoint.
    const commands: string[] = [];
    const destination = s3ClientFor(sites.b.endpoint);
    destination.middlewareStack.add((next, context) => (args) => (commands.push(context.commandName ?? ""), next(args)), { step: "initialize", name: "recordCommands" });
    cleanups.push(() => destination.middlewareStack.remove("recordCommands"));

    const progress: number[] = [];
    const copied = await copyVerified(src("hsc/small.fits"), dst("copies/small.fits"), { ...smallSums, bytes: BigInt(smallSums.bytes) }, { onProgress: (n) => progress.push(n) });
    expect(copied).toEqual(smallSums);
    expect(progress.at(-1)).toBe(small.length);
    expect(checksumBytes(await getObject(sites.b, "copies/small.fits"))).toEqual(smallSums);
    expect(commands.filter((c) => c !== "GetObjectCommand")).toEqual(["PutObjectCommand"]);
    commands.length = 0;

    expect(await copyVerified(src("hsc/big.fits"), dst("copies/big.fits"), bigSums)).toEqual(bigSums);
    expect(checksumBytes(await getObject(sites.b, "copies/big.fits"))).toEqual(bigSums);
    // 8 MiB parts: three of them for 20 MiB.
    expect(commands.filter((c) => c !== "GetObjectCommand")).toEqual(["CreateMultipartUploadCommand", "UploadPartCommand", "UploadPartCommand", "UploadPartCommand", "CompleteMultipartUploadCommand"]);
  });

  it("refuses a source whose bytes differ from the catalog, naming the checksums, and leaves no copy", async () => {
    const stored = randomBytes(9 * 1024 * 1024);
    await putObject(sites.a, "hsc/damaged.fits", stored);
    // The catalog knows other bytes of the same size: the source replica is damaged.
    const catalogued = checksumBytes(randomBytes(stored.length));
    const err = await copyVerified(src("hsc/damaged.fits"), dst("copies/damaged.fits"), catalogued).catch((e: unknown) => e);
    expect(isOrreryError(err, "CHECKSUM_MISMATCH")).toBe(true);
    const message = (err as Error).message;
    expect(message).toContain("hsc/damaged.fits");
    expect(message).toContain(`md5 ${checksumBytes(stored).md5}, expected ${catalogued.md5}`);
    expect(message).toContain("adler32");
    expect(message).not.toContain("size");
    expect(await headObject(sites.b, "copies/damaged.fits")).toBeUndefined();

    const wrongSize = await copyVerified(src("hsc/damaged.fits"), dst("copies/short.fits"), { ...catalogued, bytes: 10n }).catch((e: unknown) => e);
    expect(isOrreryError(wrongSize, "CHECKSUM_MISMATCH")).toBe(true);
    expect((wrongSize as Error).message).toContain(`has ${stored.length} bytes, the catalog says 10`);
    expect(await headObject(sites.b, "copies/short.fits")).toBeUndefined();
  });

  it("reports a missing source as UNAVAILABLE (worth a retry), not as a bad replica", async () => {
    const err = await copyVerified(src("hsc/nowhere.fits"), dst("copies/nowhere.fits"), checksumBytes(new Uint8Array(1))).catch((e: unknown) => e);
    expect(isOrreryError(err, "UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toContain("cannot read the source");
    expect(await headObject(sites.b, "copies/nowhere.fits")).toBeUndefined();
  });

  it("stops a copy when its signal aborts", async () => {
    const body = randomBytes(24 * 1024 * 1024);
    const sums = await putObject(sites.a, "hsc/aborted.fits", body);
    const abort = new AbortController();
    const err = await copyVerified(src("hsc/aborted.fits"), dst("copies/aborted.fits"), sums, {
      signal: abort.signal,
      onProgress: (n) => {
        if (n > 4 * 1024 * 1024) abort.abort(new Error("stop"));
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(await headObject(sites.b, "copies/aborted.fits")).toBeUndefined();
  });
});
