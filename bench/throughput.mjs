#!/usr/bin/env node
// `npm run bench -- throughput [--json] [--quanta N] [--files N] [--concurrency N] [--secure-only] [--keep]`
//
// How many quanta a second the whole dispatch path carries when the payload
// costs nothing: a real local cluster (startCluster from dist/, as `orrery
// local up`: nats-server, redis-server, s3rver, the dbb, the coordinator and
// 2 agent processes on one site) runs N (default 20,000) `orrery:noop` quanta
// to SUCCEEDED. Each quantum is leased, journaled by its agent, reported,
// persisted in Redis and acknowledged, as any other.
//
// The campaign: --files tiny files (default 1,000) are ingested through the
// CLI (`orrery dbb ingest --manifest`, not timed) and read by N / files noop
// tasks, each with one quantum per file. Timed: from Submit (expansion and
// store included) to the campaign's finish time (its `finishedMs`).
//
// Baseline, in the same run and on the same redis-server: BullMQ with 2
// worker processes (children of this one) runs N no-op jobs. Timed: from
// addBulk to the last job completed (polled every 20 ms). Agents and workers
// get the same concurrency (--concurrency, default 8: an agent's cores, a
// worker's `concurrency`). `--keep` leaves the cluster's directory (its logs).
// Target (reported, never enforced): ratio ≥ 2.
//
// What security costs: the cluster above is closed, as `local up` makes it
// (gRPC over TLS, a bearer token on every call, server passwords). The same
// campaign then runs on an open cluster (`local up --insecure`) in the same
// invocation: `secure_quanta_s`, `insecure_quanta_s` and `security_cost_ratio`
// (open rate / closed rate: 1.00 is free, 1.10 costs 10%). `--secure-only`
// skips the open run.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, messages, parseBenchArgs, sleep } from "./lib/bench-tools.mjs";

const ROLE_ENV = "ORRERY_THROUGHPUT_BENCH_ROLE";
const QUEUE = "orrery-throughput-bench";
const TARGET_RATIO = 2;


const { say, fail } = messages("throughput");

function parseArgs(argv) {
  const opts = parseBenchArgs("throughput", argv, { json: false, quanta: 20_000, files: 1_000, concurrency: 8, keep: false, "secure-only": false });
  opts.files = Math.min(opts.files, opts.quanta);
  if (opts.quanta % opts.files !== 0) fail(`--quanta (${opts.quanta}) must be a multiple of --files (${opts.files})`);
  return opts;
}

function campaignYaml(name, tasks) {
  const lines = [`apiVersion: orrery/v1`, `kind: Campaign`, `name: ${name}`, `pipeline:`, `  tasks:`];
  for (let t = 0; t < tasks; t++) {
    lines.push(
      `    noop-${t}:`,
      `      command: ["orrery:noop"]`,
      `      dimensions: [instrument, detector]`,
      `      inputs: {raw: {datasetType: raw}}`,
      `      resources: {cores: 1, memoryMB: 64, diskMB: 0}`,
    );
  }
  lines.push(`data: {scope: tput}`, `output: {scope: tput-out, run: ${name}/run1}`, "");
  return lines.join("\n");
}

async function runOrrery(opts, dir, cluster) {
  const clusterArgs = ["--cluster", join(dir, "cluster.json")];
  const input = join(dir, "input");
  mkdirSync(input, { recursive: true });
  const manifest = [];
  for (let d = 0; d < opts.files; d++) {
    writeFileSync(join(input, `raw_${d}.dat`), `${d}\n`);
    manifest.push(JSON.stringify({ path: `raw_${d}.dat`, scope: "tput", datasetType: "raw", dataId: { instrument: "BENCH", detector: d } }));
  }
  writeFileSync(join(input, "manifest.jsonl"), `${manifest.join("\n")}\n`);
  say(`ingesting ${opts.files} files (not timed)`);
  await cli([...clusterArgs, "dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(input, "manifest.jsonl"), "--json"]);

  const [{ createUnaryClient }, { clientSecurity }, { CampaignService }] = await Promise.all([
    import("../dist/common/grpc-service.js"),
    import("../dist/common/grpc-security.js"),
    import("../dist/gen/orrery/v1/coordinator_pb.js"),
  ]);
  const client = createUnaryClient(CampaignService, cluster.coordinator, undefined, clientSecurity(cluster));
  try {
    const tasks = opts.quanta / opts.files;
    const name = "throughput";
    say(`submitting ${opts.quanta} orrery:noop quanta (${tasks} tasks × ${opts.files} files)`);
    const t0 = Date.now();
    const res = await client.submit({ specYaml: campaignYaml(name, tasks), sourceName: "throughput.yaml" }, { timeoutMs: 120_000 });
    if (res.quanta !== opts.quanta) throw new Error(`the campaign has ${res.quanta} quanta, not ${opts.quanta}`);
    const submitMs = Date.now() - t0;
    // Campaign states are an enum on the wire.
    const { CampaignState } = await import("../dist/gen/orrery/v1/common_pb.js");
    for (;;) {
      const st = (await client.status({ campaign: name })).campaigns[0];
      if (st && st.state !== CampaignState.RUNNING && st.state !== CampaignState.PAUSED) {
        if (st.state !== CampaignState.SUCCEEDED) throw new Error(`the campaign ended ${CampaignState[st.state]}`);
        const end = Number(st.finishedMs) || Date.now();
        return { seconds: (end - t0) / 1000, submitMs };
      }
      await sleep(20);
    }
  } finally {
    client.close();
  }
}

function redisConnection(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port), ...(u.password ? { password: decodeURIComponent(u.password) } : {}) };
}

async function runBullmq(opts, redisUrl) {
  const { Queue } = await import("bullmq");
  const connection = redisConnection(redisUrl);
  const queue = new Queue(QUEUE, { connection });
  const workers = [];
  try {
    await queue.obliterate({ force: true }).catch(() => {});
    say(`starting 2 BullMQ worker processes (concurrency ${opts.concurrency} each)`);
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [process.argv[1]], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, [ROLE_ENV]: "bullmq-worker", BENCH_REDIS: redisUrl, BENCH_CONCURRENCY: String(opts.concurrency) },
      });
      workers.push({ child, exited: new Promise((r) => child.once("exit", r)), ready: new Promise((r, j) => (child.once("message", r), child.once("exit", () => j(new Error("a BullMQ worker exited before it was ready"))))) });
    }
    await Promise.all(workers.map((w) => w.ready));
    say(`adding ${opts.quanta} no-op jobs`);
    const t0 = Date.now();
    const BULK = 1000;
    for (let i = 0; i < opts.quanta; i += BULK) {
      const n = Math.min(BULK, opts.quanta - i);
      await queue.addBulk(Array.from({ length: n }, (_, k) => ({ name: "noop", data: { i: i + k } })));
    }
    for (;;) {
      const { completed, failed } = await queue.getJobCounts("completed", "failed");
      if (completed + failed >= opts.quanta) {
        if (failed > 0) throw new Error(`${failed} BullMQ jobs failed`);
        return { seconds: (Date.now() - t0) / 1000 };
      }
      await sleep(20);
    }
  } finally {
    for (const w of workers) w.child.send?.("stop");
    await Promise.all(workers.map((w) => Promise.race([w.exited, sleep(5000).then(() => w.child.kill("SIGKILL"))])));
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  }
}

async function bullmqWorker() {
  const { Worker } = await import("bullmq");
  const worker = new Worker(QUEUE, async () => undefined, { connection: redisConnection(process.env.BENCH_REDIS), concurrency: Number(process.env.BENCH_CONCURRENCY) });
  await worker.waitUntilReady();
  process.send({ ready: true });
  process.on("message", async () => {
    await worker.close();
    process.exit(0);
  });
}

function report(f, json) {
  const rows = [
    ["", "quanta / jobs", "seconds", "per second"],
    ["Orrery (orrery:noop, 2 agents)", String(f.quanta), f.orrery_s.toFixed(2), f.orrery_per_s.toFixed(0)],
    ["BullMQ (no-op, 2 workers)", String(f.quanta), f.bullmq_s.toFixed(2), f.bullmq_per_s.toFixed(0)],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  const out = [
    `throughput: ${f.quanta} quanta on a local cluster (1 site, 2 agents) vs BullMQ on the same redis-server; concurrency ${f.concurrency} per agent / worker`,
    ...rows.map(line),
    `submit (expand + store) ${f.submit_ms} ms, inside Orrery's time`,
    `ratio (Orrery / BullMQ) ${f.ratio.toFixed(2)}  (target ≥ ${TARGET_RATIO}: ${f.ratio >= TARGET_RATIO ? "met" : "not met"})`,
  ];
  if (f.insecure_quanta_s !== undefined) {
    out.push(
      `security: closed cluster (TLS + tokens) ${f.secure_quanta_s.toFixed(0)} quanta/s, open cluster (--insecure) ${f.insecure_quanta_s.toFixed(0)} quanta/s; ` +
        `cost ratio (open / closed) ${f.security_cost_ratio.toFixed(2)}`,
    );
  }
  process.stdout.write(`${out.join("\n")}\n`);
  if (json) {
    const { orrery_per_s, bullmq_per_s, ratio, ...rest } = f;
    process.stdout.write(`${JSON.stringify({ bench: "throughput", orrery_per_s, bullmq_per_s, ratio, ...rest })}\n`);
  }
}

/** Runs `fn` on a fresh local cluster (1 site, 2 agents), closed or open, and stops it after. */
async function withCluster(opts, insecure, dirs, fn) {
  const { startCluster, stopCluster } = await import("../dist/common/local/cluster.js");
  const dir = mkdtempSync(join(tmpdir(), `orrery-bench-throughput-${insecure ? "open" : "closed"}-`));
  dirs.add(dir);
  try {
    say(`starting a ${insecure ? "open (--insecure)" : "closed (TLS, tokens)"} local cluster (1 site, 2 agents)`);
    const cluster = await startCluster({ dir, sites: 1, agents: 2, agentCores: opts.concurrency, agentMemoryMB: 64 * opts.concurrency, softwareRoot: process.cwd(), insecure, onProgress: (m) => say(m) });
    return await fn(cluster, dir);
  } finally {
    dirs.delete(dir);
    await stopCluster(dir).catch(() => {});
    if (opts.keep) say(`kept ${dir} (logs under logs/)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const { stopCluster } = await import("../dist/common/local/cluster.js");
  const dirs = new Set();
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => void Promise.all([...dirs].map((d) => stopCluster(d).catch(() => {}))).finally(() => process.exit(130)));
  }
  const { orrery, bullmq } = await withCluster(opts, false, dirs, async (cluster, dir) => {
    const orrery = await runOrrery(opts, dir, cluster);
    say(`Orrery (closed cluster): ${opts.quanta} quanta in ${orrery.seconds.toFixed(2)} s`);
    // The cluster's Redis has a password (none with --insecure): BullMQ takes it in the URL.
    const redisUrl = new URL(cluster.redis);
    if (cluster.security?.redisPassword) redisUrl.password = encodeURIComponent(cluster.security.redisPassword);
    const bullmq = await runBullmq(opts, redisUrl.toString());
    say(`BullMQ: ${opts.quanta} jobs in ${bullmq.seconds.toFixed(2)} s`);
    return { orrery, bullmq };
  });
  const open = opts["secure-only"]
    ? undefined
    : await withCluster(opts, true, dirs, async (cluster, dir) => {
        const r = await runOrrery(opts, dir, cluster);
        say(`Orrery (open cluster): ${opts.quanta} quanta in ${r.seconds.toFixed(2)} s`);
        return r;
      });
  const f = {
    quanta: opts.quanta,
    concurrency: opts.concurrency,
    orrery_s: orrery.seconds,
    submit_ms: orrery.submitMs,
    bullmq_s: bullmq.seconds,
    orrery_per_s: opts.quanta / orrery.seconds,
    bullmq_per_s: opts.quanta / bullmq.seconds,
  };
  f.ratio = f.orrery_per_s / f.bullmq_per_s;
  if (open) {
    f.secure_quanta_s = f.orrery_per_s;
    f.insecure_quanta_s = opts.quanta / open.seconds;
    f.security_cost_ratio = f.insecure_quanta_s / f.secure_quanta_s;
  }
  report(f, opts.json);
}

if (process.env[ROLE_ENV] === "bullmq-worker") await bullmqWorker();
else
  await main().catch((err) => {
    say(err?.stack ?? String(err));
    process.exit(1);
  });
