#!/usr/bin/env node
// `npm run bench -- io [--json] [--quanta N] [--bytes N] [--concurrency N] [--keep]`
//
// The whole path of small real quanta on a local cluster (startCluster from
// dist/: 1 site, 2 agent processes, --concurrency cores each, default 4):
//   cp    N quanta (default 2,000), each `cp {inputs.raw} {outputs.copy}` on a
//         file of --bytes (default 4096): lease, stage-in from S3 (checksums,
//         cache), quantum.json, the payload spawned, stage-out to S3 with the
//         provenance record, registration in the DBB (JetStream), result.
//   true  N quanta of `/bin/true` with the same inputs and no outputs (inputs
//         staged in, from the agents' caches by then; nothing staged out).
// Timed: from Submit to the campaign's finish time. Ingest is not timed.
//
// Baselines, in the same run, at the same concurrency (2 × --concurrency in
// flight), on the same s3rver:
//   bare      a loop doing S3 GET → spawn `cp` → S3 PUT per file → ratio
//   bare true a loop spawning /bin/true → spawn_ratio
// Targets (reported, never enforced): ratio ≥ 0.7, spawn_ratio ≥ 0.8.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { writeFile, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, messages, parseBenchArgs, pool, sleep } from "./lib/bench-tools.mjs";

const TARGETS = { ratio: 0.7, spawn_ratio: 0.8 };

const { say } = messages("io");

function parseArgs(argv) {
  return parseBenchArgs("io", argv, { json: false, quanta: 2_000, bytes: 4096, concurrency: 4, keep: false });
}

function run(argv, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(" ")} exited ${code}`))));
  });
}

function campaignYaml(name, task) {
  return `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
${task}data: {scope: iob}
output: {scope: iob-out, run: ${name}/run1}
`;
}

// Scratch holds the staged input and its copy: diskMB covers both (the agent stops a payload over it).
const diskMB = (bytes) => Math.max(10, Math.ceil((3 * bytes) / 2 ** 20));
const taskCp = (bytes) => `    copy:
      command: [cp, "{inputs.raw}", "{outputs.copy}"]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
      outputs: {copy: {datasetType: rawCopy}}
      resources: {cores: 1, memoryMB: 64, diskMB: ${diskMB(bytes)}}
`;
const taskTrue = (bytes) => `    probe:
      command: [/bin/true]
      dimensions: [instrument, detector]
      inputs: {raw: {datasetType: raw}}
      resources: {cores: 1, memoryMB: 64, diskMB: ${diskMB(bytes)}}
`;

async function runCampaign(client, name, task, quanta) {
  const t0 = Date.now();
  const res = await client.submit({ specYaml: campaignYaml(name, task), sourceName: `${name}.yaml` }, { timeoutMs: 120_000 });
  if (res.quanta !== quanta) throw new Error(`campaign ${name} has ${res.quanta} quanta, not ${quanta}`);
  // Campaign states are an enum on the wire.
  const { CampaignState } = await import("../dist/gen/orrery/v1/common_pb.js");
  for (;;) {
    const st = (await client.status({ campaign: name })).campaigns[0];
    if (st && st.state !== CampaignState.RUNNING && st.state !== CampaignState.PAUSED) {
      if (st.state !== CampaignState.SUCCEEDED) throw new Error(`campaign ${name} ended ${CampaignState[st.state]}`);
      return ((Number(st.finishedMs) || Date.now()) - t0) / 1000;
    }
    await sleep(50);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const [{ startCluster, stopCluster, useClusterSecrets }, { createUnaryClient }, { clientSecurity }, { CampaignService }, { s3ClientFor }, { GetObjectCommand, PutObjectCommand }] = await Promise.all([
    import("../dist/common/local/cluster.js"),
    import("../dist/common/grpc-service.js"),
    import("../dist/common/grpc-security.js"),
    import("../dist/gen/orrery/v1/coordinator_pb.js"),
    import("../dist/common/s3.js"),
    import("@aws-sdk/client-s3"),
  ]);
  const dir = mkdtempSync(join(tmpdir(), "orrery-bench-io-"));
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await stopCluster(dir).catch(() => {});
      if (opts.keep) say(`kept ${dir} (logs under logs/)`);
      else rmSync(dir, { recursive: true, force: true });
    })());
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => void cleanup().finally(() => process.exit(130)));
  const inFlight = 2 * opts.concurrency;
  try {
    say(`starting a local cluster (1 site, 2 agents × ${opts.concurrency} cores)`);
    const cluster = await startCluster({ dir, sites: 1, agents: 2, agentCores: opts.concurrency, agentMemoryMB: 256 * opts.concurrency, softwareRoot: process.cwd(), onProgress: (m) => say(m) });
    useClusterSecrets(cluster);
    const input = join(dir, "input");
    mkdirSync(input, { recursive: true });
    const manifest = [];
    for (let d = 0; d < opts.quanta; d++) {
      const body = Buffer.alloc(opts.bytes, `${d} `);
      writeFileSync(join(input, `raw_${d}.dat`), body);
      manifest.push(JSON.stringify({ path: `raw_${d}.dat`, scope: "iob", datasetType: "raw", dataId: { instrument: "BENCH", detector: d } }));
    }
    writeFileSync(join(input, "manifest.jsonl"), `${manifest.join("\n")}\n`);
    say(`ingesting ${opts.quanta} files of ${opts.bytes} bytes (not timed)`);
    await cli(["--cluster", join(dir, "cluster.json"), "dbb", "ingest", "--rse", "site-a-disk", "--manifest", join(input, "manifest.jsonl"), "--json"]);

    const endpoint = cluster.s3["site-a"];
    const s3 = s3ClientFor(endpoint);
    const bucket = "site-a-disk";
    // Where ingest put the files: found by listing, not assumed.
    const rses = JSON.parse(await cli(["--cluster", join(dir, "cluster.json"), "dbb", "rse", "list", "--json"]));
    const rse = rses.find((r) => r.name === bucket);
    const keyOf = (d) => [rse?.prefix ?? "", "iob", `raw_${d}.dat`].filter((p) => p !== "").join("/");
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(0) })).then((r) => r.Body.transformToByteArray());

    const client = createUnaryClient(CampaignService, cluster.coordinator, undefined, clientSecurity(cluster));
    const f = { quanta: opts.quanta, bytes: opts.bytes, concurrency: inFlight };
    try {
      say(`Orrery: ${opts.quanta} cp quanta`);
      f.orrery_s = await runCampaign(client, "io-cp", taskCp(opts.bytes), opts.quanta);
      say(`Orrery: ${opts.quanta} /bin/true quanta`);
      f.orrery_true_s = await runCampaign(client, "io-true", taskTrue(opts.bytes), opts.quanta);
    } finally {
      client.close();
    }

    say(`bare loop: S3 GET → cp → S3 PUT, ${inFlight} at a time`);
    const scratch = join(dir, "bare");
    mkdirSync(scratch, { recursive: true });
    f.bare_s = await pool(opts.quanta, inFlight, async (d) => {
      const src = join(scratch, `in_${d}`);
      const dst = join(scratch, `out_${d}`);
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: keyOf(d) }));
      await writeFile(src, await got.Body.transformToByteArray());
      await run(["cp", src, dst], scratch);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `bare/copy_${d}.dat`, Body: await readFile(dst) }));
      await Promise.all([rm(src), rm(dst)]);
    });
    say(`bare loop: /bin/true, ${inFlight} at a time`);
    f.bare_true_s = await pool(opts.quanta, inFlight, () => run(["/bin/true"], scratch));

    f.orrery_per_s = opts.quanta / f.orrery_s;
    f.bare_per_s = opts.quanta / f.bare_s;
    f.ratio = f.orrery_per_s / f.bare_per_s;
    f.orrery_true_per_s = opts.quanta / f.orrery_true_s;
    f.bare_true_per_s = opts.quanta / f.bare_true_s;
    f.spawn_ratio = f.orrery_true_per_s / f.bare_true_per_s;
    report(f, opts.json);
  } finally {
    await cleanup();
  }
}

function report(f, json) {
  const rows = [
    ["", "seconds", "per second"],
    ["Orrery cp (stage-in, cp, stage-out, register)", f.orrery_s.toFixed(2), f.orrery_per_s.toFixed(0)],
    ["bare S3 GET → cp → S3 PUT", f.bare_s.toFixed(2), f.bare_per_s.toFixed(0)],
    ["Orrery /bin/true (inputs staged, no outputs)", f.orrery_true_s.toFixed(2), f.orrery_true_per_s.toFixed(0)],
    ["bare spawn /bin/true", f.bare_true_s.toFixed(2), f.bare_true_per_s.toFixed(0)],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  const met = (k) => (f[k] >= TARGETS[k] ? "met" : "not met");
  process.stdout.write(
    [
      `io: ${f.quanta} quanta of ${f.bytes} bytes each, ${f.concurrency} in flight (1 site, 2 agents), same s3rver for Orrery and the bare loops`,
      ...rows.map(line),
      `ratio ${f.ratio.toFixed(2)} (target ≥ ${TARGETS.ratio}: ${met("ratio")}), spawn_ratio ${f.spawn_ratio.toFixed(2)} (target ≥ ${TARGETS.spawn_ratio}: ${met("spawn_ratio")})`,
      "",
    ].join("\n"),
  );
  if (json) {
    const { orrery_per_s, bare_per_s, ratio, spawn_ratio, ...rest } = f;
    process.stdout.write(`${JSON.stringify({ bench: "io", orrery_per_s, bare_per_s, ratio, spawn_ratio, ...rest })}\n`);
  }
}

await main().catch((err) => {
  say(err?.stack ?? String(err));
  process.exit(1);
});
