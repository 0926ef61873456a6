#!/usr/bin/env node
// `npm run bench -- replication [--json] [--files N] [--mib N] [--big N] [--keep]`
//
// Replication through the data backbone on a local cluster (startCluster from
// dist/: 2 sites, each its own s3rver, no agents):
//   dbb       --files (default 200) files of --mib MiB (default 4) ingested at
//             site-a-disk into dataset bench:replication; one rule
//             `rule add bench:replication --rse-expr site-b-disk`; timed from
//             the command until every file is AVAILABLE at site-b-disk (replica
//             events, confirmed by `rule show` reporting OK). The copies go
//             through JetStream and the dbb's transfer workers, which verify
//             adler32 and md5; the bench then checks the catalog's checksums and
//             reads every copy back from site-b's S3 to check them again.
//   rule_100k --big (default 100,000) files registered in the catalog (no
//             bytes uploaded) in dataset bench:big; timed: `rule add` on it,
//             i.e. rule evaluation, locks and 100,000 transfer requests queued.
//             Those transfers fail later (no source bytes); they are not timed.
// Baseline, in the same run: a plain loop S3 GET (site-a) → PUT (site-b) of
// the same files at the same concurrency as the transfer workers (4: the
// default transfer_limit of an RSE and the dbb's --transfer-workers).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, messages, parseBenchArgs, pool, sleep } from "./lib/bench-tools.mjs";

const CONCURRENCY = 4;
// The AWS SDK's notice about Node versions is not a figure of this bench.
const { say } = messages("replication");

async function main() {
  const opts = parseBenchArgs("replication", process.argv.slice(2), { json: false, files: 200, mib: 4, big: 100_000, keep: false });
  const [{ startCluster, stopCluster, useClusterSecrets }, { connectNats }, { DbbClient }, { s3ClientFor }, { Checksummer }, { Subjects }, { GetObjectCommand, PutObjectCommand }] = await Promise.all([
    import("../dist/common/local/cluster.js"),
    import("../dist/common/nats.js"),
    import("../dist/common/dbb-client.js"),
    import("../dist/common/s3.js"),
    import("../dist/common/checksum.js"),
    import("../dist/common/subjects.js"),
    import("@aws-sdk/client-s3"),
  ]);
  const dir = mkdtempSync(join(tmpdir(), "orrery-bench-replication-"));
  let nc;
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await nc?.close().catch(() => {});
      await stopCluster(dir).catch(() => {});
      if (opts.keep) say(`kept ${dir} (logs under logs/)`);
      else rmSync(dir, { recursive: true, force: true });
    })());
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void cleanup().finally(() => process.exit(130)));
  const orrery = async (...args) => JSON.parse(await cli(["--cluster", join(dir, "cluster.json"), ...args, "--json"]));
  const fileBytes = opts.mib * 1024 * 1024;
  const f = { files: opts.files, file_bytes: fileBytes, bytes: opts.files * fileBytes, concurrency: CONCURRENCY, big_files: opts.big };

  try {
    say("starting a local cluster (2 sites, each with its own S3 endpoint; no agents)");
    const cluster = await startCluster({ dir, sites: 2, agents: 0, onProgress: (m) => say(m) });
    useClusterSecrets(cluster);
    nc = await connectNats(cluster.nats, "bench-replication");
    const dbb = new DbbClient(nc, 120_000);

    say(`writing and ingesting ${opts.files} files of ${opts.mib} MiB at site-a-disk (not timed)`);
    const input = join(dir, "input");
    mkdirSync(input, { recursive: true });
    const manifest = [];
    for (let i = 0; i < opts.files; i++) {
      writeFileSync(join(input, `f_${i}.dat`), randomBytes(fileBytes));
      manifest.push(JSON.stringify({ path: `f_${i}.dat`, scope: "bench", datasetType: "raw", dataId: { instrument: "BENCH", detector: i } }));
    }
    writeFileSync(join(input, "manifest.jsonl"), `${manifest.join("\n")}\n`);
    await orrery("dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(input, "manifest.jsonl"), "--dataset", "bench:replication");
    rmSync(input, { recursive: true, force: true });
    const sources = (await dbb.replicas("bench:replication")).filter((r) => r.rse === "site-a-disk");
    if (sources.length !== opts.files) throw new Error(`ingest catalogued ${sources.length} files, not ${opts.files}`);
    const rses = new Map((await dbb.rseList()).map((r) => [r.name, r]));
    const siteA = rses.get("site-a-disk");
    const siteB = rses.get("site-b-disk");

    say(`Orrery: rule bench:replication → site-b-disk (${opts.files} transfers)`);
    const arrived = new Map();
    const wanted = new Set(sources.map((r) => r.did));
    const sub = nc.subscribe(Subjects.replicaEvents, {
      callback: (_err, m) => {
        const e = m.json();
        if (e.rse === "site-b-disk" && e.state === "AVAILABLE" && wanted.has(e.did) && !arrived.has(e.did)) arrived.set(e.did, performance.now());
      },
    });
    const t0 = performance.now();
    const rule = await orrery("dbb", "rule", "add", "bench:replication", "--rse-expr", "site-b-disk");
    f.dbb_s = (await untilOk(orrery, rule.id, arrived, wanted.size, t0)) / 1000;
    sub.unsubscribe();

    say("checking the copies: catalog checksums, then every object read back from site-b's S3");
    const copies = new Map((await dbb.replicas("bench:replication")).filter((r) => r.rse === "site-b-disk").map((r) => [r.did, r]));
    await pool(sources.length, 8, async (i) => {
      const src = sources[i];
      const copy = copies.get(src.did);
      if (!copy || copy.state !== "AVAILABLE" || copy.adler32 !== src.adler32 || copy.md5 !== src.md5 || copy.bytes !== src.bytes) {
        throw new Error(`${src.did} at site-b-disk is ${copy ? `${copy.state} ${copy.adler32}/${copy.md5}` : "missing"}, expected AVAILABLE ${src.adler32}/${src.md5}`);
      }
      const got = await s3ClientFor(siteB.endpoint).send(new GetObjectCommand({ Bucket: siteB.bucket, Key: copy.path }));
      const sum = new Checksummer();
      for await (const chunk of got.Body) sum.update(chunk);
      const d = sum.digest();
      if (d.adler32 !== src.adler32 || d.md5 !== src.md5 || BigInt(d.bytes) !== src.bytes) throw new Error(`the bytes of ${src.did} at site-b differ from the source`);
    });

    say(`baseline: plain S3 GET (site-a) → PUT (site-b) of the same files, ${CONCURRENCY} at a time`);
    f.raw_copy_s = await pool(sources.length, CONCURRENCY, async (i) => {
      const got = await s3ClientFor(siteA.endpoint).send(new GetObjectCommand({ Bucket: siteA.bucket, Key: sources[i].path }));
      const body = await got.Body.transformToByteArray();
      await s3ClientFor(siteB.endpoint).send(new PutObjectCommand({ Bucket: siteB.bucket, Key: `raw-copy/${sources[i].path}`, Body: body }));
    });

    say(`registering ${opts.big} files in dataset bench:big (catalog only, not timed)`);
    const tr = performance.now();
    const batch = 2000;
    for (let i = 0; i < opts.big; i += batch) {
      const regs = Array.from({ length: Math.min(batch, opts.big - i) }, (_, k) => ({
        file: { scope: "bench", name: `big/f_${i + k}.dat`, datasetType: "big", dataId: JSON.stringify({ n: i + k }), bytes: 1024n, adler32: "00000001", md5: "0".repeat(32) },
        rse: "site-a-disk",
        collection: "bench:big",
      }));
      await dbb.register(regs);
    }
    f.register_big_s = (performance.now() - tr) / 1000;
    // What any CLI command costs (node start, connect), for reading rule_100k_s.
    const tc = performance.now();
    await orrery("dbb", "rse", "list");
    f.cli_s = (performance.now() - tc) / 1000;
    say(`Orrery: rule add on the ${opts.big}-file dataset`);
    const tb = performance.now();
    await orrery("dbb", "rule", "add", "bench:big", "--rse-expr", "site-b-disk");
    f.rule_100k_s = (performance.now() - tb) / 1000;

    f.dbb_mb_s = f.bytes / 1e6 / f.dbb_s;
    f.raw_copy_mb_s = f.bytes / 1e6 / f.raw_copy_s;
    f.ratio = f.dbb_mb_s / f.raw_copy_mb_s;
    report(f, opts.json);
  } finally {
    await cleanup();
  }
}

/**
 * Waits until the rule is OK: replica events tell when every copy landed
 * (cheap to follow), `rule show` confirms; it is also polled every few
 * seconds on its own in case events are missed. Resolves to the ms from t0
 * to the last copy's event (or to the `rule show` that first said OK).
 */
async function untilOk(orrery, id, arrived, expected, t0) {
  const deadline = Date.now() + 30 * 60_000;
  let lastShow = performance.now();
  for (;;) {
    const all = arrived.size === expected;
    if (performance.now() - lastShow > (all ? 250 : 5000)) {
      lastShow = performance.now();
      const rule = await orrery("dbb", "rule", "show", id);
      if (rule.state === "OK") return (arrived.size === expected ? Math.max(...arrived.values()) : lastShow) - t0;
      if (rule.state === "STUCK") throw new Error(`rule ${id} is STUCK: locks ${JSON.stringify(rule.locks)}`);
    }
    if (Date.now() > deadline) throw new Error(`rule ${id} not OK after 30 minutes`);
    await sleep(50);
  }
}

function report(f, json) {
  const mib = (f.file_bytes / 1024 / 1024).toFixed(0);
  const rows = [
    ["", "seconds", "MB/s"],
    [`Orrery rule → JetStream → transfer workers (verified)`, f.dbb_s.toFixed(2), f.dbb_mb_s.toFixed(1)],
    [`plain S3 GET → PUT loop`, f.raw_copy_s.toFixed(2), f.raw_copy_mb_s.toFixed(1)],
    [`rule add on ${f.big_files} files (evaluation, locks, requests queued)`, f.rule_100k_s.toFixed(2), ""],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  process.stdout.write(
    [
      `replication: ${f.files} files of ${mib} MiB (${(f.bytes / 1e6).toFixed(0)} MB) site-a → site-b, two s3rver endpoints, ${f.concurrency} copies at a time`,
      ...rows.map(line),
      `ratio ${f.ratio.toFixed(2)} (Orrery / plain copy); rule add includes ${f.cli_s.toFixed(2)} s that any CLI command takes; ${f.big_files} files registered in ${f.register_big_s.toFixed(1)} s (not timed)`,
      "",
    ].join("\n"),
  );
  if (json) {
    const { bytes, dbb_mb_s, raw_copy_mb_s, ratio, rule_100k_s, ...rest } = f;
    process.stdout.write(`${JSON.stringify({ bench: "replication", bytes, dbb_mb_s, raw_copy_mb_s, ratio, rule_100k_s, ...rest })}\n`);
  }
}

await main().catch((err) => {
  say(err?.stack ?? String(err));
  process.exit(1);
});
