#!/usr/bin/env node
// `npm run bench -- cache [--json] [--files N] [--mib N] [--passes N] [--keep]`
//
// Hot inputs served three ways to the same destination (a scratch file per
// input, as stage-in writes it), each verifying every byte it writes:
//   lmdb  the agent's real FileCache (dist/): --files inputs of --mib MiB
//         (default 8 × 64 MiB, one run's worth, well within its 1 GiB budget)
//         stored once, then each read with writeTo, which streams the 4 MiB
//         chunks out of LMDB's map and checks the catalog's adler32.
//   fs    the same files read from the local filesystem in 4 MiB blocks into
//         the same two alternating buffers, adler32 summed, written to the
//         scratch file: the cache's own loop with read(2) in place of LMDB,
//         so the figure isolates what LMDB costs against a plain file.
//   s3    the same files fetched from a real s3rver started by the bench,
//         through the agent's download path (fetchObject: S3 GET streamed to
//         the scratch file with adler32 and md5, then compared with the
//         catalog's values as stage-in does).
// Hot: the source files and the LMDB map are read once before timing (page
// cache warm). Figures are MB/s (10^6 bytes) of input bytes over a pass, the
// best of --passes (default 5, interleaved) for lmdb and fs, one pass for s3 (it is slow).
// Targets (reported, never enforced): cache_vs_fs ≥ 0.8, cache_vs_s3 ≥ 5.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messages, parseBenchArgs } from "./lib/bench-tools.mjs";

const TARGETS = { cache_vs_fs: 0.8, cache_vs_s3: 5 };
const BLOCK = 4 * 1024 * 1024;
const { say } = messages("cache");

const [{ openAgentStore }, { adler32Update, adler32Hex, checksumFile }, { fetchObject, checksumProblem }, { startS3 }, { stopProcess }, { s3ClientFor }, { PutObjectCommand }] = await Promise.all([
  import("../dist/agent/cache/index.js"),
  import("../dist/common/checksum.js"),
  import("../dist/common/replica-fetch.js"),
  import("../dist/common/local/servers.js"),
  import("../dist/common/local/child.js"),
  import("../dist/common/s3.js"),
  import("@aws-sdk/client-s3"),
]);

/** The fs baseline: readChunks' loop (copy-and-sum one block while the previous one is written) reading a file. */
async function copyVerified(src, dst, want) {
  const buffers = [Buffer.allocUnsafeSlow(BLOCK), Buffer.allocUnsafeSlow(BLOCK)];
  const [input, output] = await Promise.all([open(src, "r"), open(dst, "w")]);
  try {
    let adler = 1;
    let pending = Promise.resolve();
    for (let n = 0, pos = 0; ; n++) {
      const buf = buffers[n & 1];
      const { bytesRead } = await input.read(buf, 0, BLOCK, pos);
      if (bytesRead === 0) break;
      const part = buf.subarray(0, bytesRead);
      adler = adler32Update(adler, part);
      await pending;
      pending = output.write(part, 0, bytesRead, pos);
      pos += bytesRead;
    }
    await pending;
    if (adler32Hex(adler) !== want.adler32) throw new Error(`${src}: adler32 mismatch`);
  } finally {
    await Promise.all([input.close(), output.close()]);
  }
}

/** Seconds for one pass of `serve(i, dst)` over every input, the scratch files removed afterwards (untimed). */
async function pass(files, scratch, serve) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < files.length; i++) await serve(i, join(scratch, `in_${i}.dat`));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(files.map((_, i) => rm(join(scratch, `in_${i}.dat`), { force: true })));
  return s;
}

async function main() {
  const opts = parseBenchArgs("cache", process.argv.slice(2), { json: false, files: 8, mib: 64, passes: 5, keep: false });
  const dir = mkdtempSync(join(tmpdir(), "orrery-bench-cache-"));
  const src = join(dir, "src");
  const scratch = join(dir, "scratch");
  for (const d of [src, scratch, join(dir, "logs")]) mkdirSync(d, { recursive: true });
  let s3;
  let store;
  try {
    say(`writing ${opts.files} inputs of ${opts.mib} MiB`);
    const files = [];
    for (let i = 0; i < opts.files; i++) {
      const path = join(src, `raw_${i}.dat`);
      const body = Buffer.allocUnsafe(opts.mib * 1024 * 1024);
      for (let o = 0; o < body.length; o += 4) body.writeUInt32LE((Math.imul(o + 1, 2654435761) ^ (i * 40503)) >>> 0, o); // distinct, not compressible
      writeFileSync(path, body);
      files.push({ path, did: `bench:raw_${i}.dat`, key: `bench/raw_${i}.dat`, ...(await checksumFile(path)) });
    }
    const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
    const budget = Math.max(1024 ** 3, 2 * totalBytes);

    say(`storing them in the agent's LMDB cache (budget ${(budget / 1024 ** 2).toFixed(0)} MiB, not timed)`);
    store = openAgentStore(join(dir, "cache"), budget);
    for (const f of files) if (!(await store.cache.put(f.did, f.md5, f.path, f.adler32))) throw new Error(`${f.did} not cached`);
    const fromCache = async (i, dst) => {
      const f = files[i];
      const read = await store.cache.writeTo(f.did, f.md5, dst, { bytes: f.bytes, adler32: f.adler32 });
      if (read.kind !== "hit") throw new Error(`${f.did}: cache ${read.kind}`);
    };
    const fromFs = (i, dst) => copyVerified(files[i].path, dst, files[i]);

    say("warming the page cache (one untimed pass each), then timing");
    await pass(files, scratch, fromCache);
    await pass(files, scratch, fromFs);
    const f = { files: opts.files, mib: opts.mib, total_mb: totalBytes / 1e6 };
    // Interleaved passes, so a burst of load on a shared machine does not fall on one side only.
    let lmdbS = Infinity;
    let fsS = Infinity;
    for (let p = 0; p < opts.passes; p++) {
      lmdbS = Math.min(lmdbS, await pass(files, scratch, fromCache));
      fsS = Math.min(fsS, await pass(files, scratch, fromFs));
    }

    say("starting s3rver and uploading the inputs (not timed)");
    s3 = await startS3({ dir, logDir: join(dir, "logs"), name: "s3", buckets: ["bench-disk"] });
    const client = s3ClientFor(s3.endpoint);
    for (const file of files) {
      const fh = await open(file.path, "r");
      try {
        await client.send(new PutObjectCommand({ Bucket: "bench-disk", Key: file.key, Body: fh.createReadStream(), ContentLength: file.bytes }));
      } finally {
        await fh.close();
      }
    }
    const fromS3 = async (i, dst) => {
      const file = files[i];
      const got = await fetchObject({ endpoint: s3.endpoint, bucket: "bench-disk", key: file.key }, dst);
      const problem = checksumProblem(got, file);
      if (problem !== undefined) throw new Error(`${file.key}: ${problem}`);
    };
    const s3S = await pass(files, scratch, fromS3);

    f.lmdb_mb_s = f.total_mb / lmdbS;
    f.fs_mb_s = f.total_mb / fsS;
    f.s3_mb_s = f.total_mb / s3S;
    f.cache_vs_fs = f.lmdb_mb_s / f.fs_mb_s;
    f.cache_vs_s3 = f.lmdb_mb_s / f.s3_mb_s;
    report(f, opts.json);
  } finally {
    await store?.close();
    if (s3) await stopProcess(s3.pid);
    if (opts.keep) say(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function report(f, json) {
  const rows = [
    ["", "MB/s"],
    ["LMDB cache → scratch, adler32 checked (FileCache.writeTo)", f.lmdb_mb_s.toFixed(0)],
    ["local file → scratch, adler32 checked (same loop)", f.fs_mb_s.toFixed(0)],
    ["S3 GET → scratch, adler32 + md5 checked (fetchObject)", f.s3_mb_s.toFixed(0)],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  const met = (k) => (f[k] >= TARGETS[k] ? "met" : "not met");
  process.stdout.write(
    [
      `cache: ${f.files} hot inputs of ${f.mib} MiB (${f.total_mb.toFixed(0)} MB) served one after another to scratch files`,
      ...rows.map(line),
      `cache_vs_fs ${f.cache_vs_fs.toFixed(2)} (target ≥ ${TARGETS.cache_vs_fs}: ${met("cache_vs_fs")}), cache_vs_s3 ${f.cache_vs_s3.toFixed(1)} (target ≥ ${TARGETS.cache_vs_s3}: ${met("cache_vs_s3")})`,
      "",
    ].join("\n"),
  );
  if (json) {
    const { lmdb_mb_s, fs_mb_s, s3_mb_s, cache_vs_fs, cache_vs_s3, ...rest } = f;
    process.stdout.write(`${JSON.stringify({ bench: "cache", lmdb_mb_s, fs_mb_s, s3_mb_s, cache_vs_fs, cache_vs_s3, ...rest })}\n`);
  }
}

await main().catch((err) => {
  say(err?.stack ?? String(err));
  process.exit(1);
});
