#!/usr/bin/env node
// `npm run bench -- graph [--json] [--quanta N] [--sample N] [--load]`
//
// Expands a synthetic campaign of N quanta (default 1,000,000) with the
// coordinator's own code from dist/ and stores it in a real redis-server.
//
// The campaign (bench/lib/graph-campaign.mjs): four tasks on HSC-like data —
//   isr       per raw {instrument, exposure, detector}; raw + a bias calibration
//             (2 per detector, matched by validity range on the raw's obsTime)
//   calibrate per raw, reads isr's postISRCCD
//   measure   per raw, reads calibrate's calexp
//   coadd     gather: one per {instrument, tract, patch}, calexp multiple: true
// 3 × raws + patches = N exactly; at 1,000,000 that is 333,000 raws (1665
// exposures × 200 detectors, data ids {instrument, exposure, detector, tract,
// patch}) and 1000 patches of 333 calexps each. The catalog snapshot (dataset
// type → CatalogFile[], what expandGraph takes) is built in memory first and
// decoded like fetchCatalog decodes the DBB's answer; it is not timed.
//
// Figures (one node process, "product"):
//   expand_s     parseCampaign + expandGraph + buildExpansion (rows, links, identities)
//   store_s      what WorkloadManager.submit does before indexing: the campaign
//                record, rows and first states, the progress map,
//                saveCampaign into the Redis store (one definition per hash field,
//                HSETs of ~48 KB, 16 in flight) to redis-server with AOF on
//                (startRedis, as the product runs it)
//   index_s      CampaignTable.addRows: state counts and the ready set (reported)
//   peak_rss_mb  that process's maxRSS, read right after store + index
//   resident_model_mb  heap (with typed arrays) the campaign keeps once
//                submitted: its rows and table, with the catalog, the planned
//                graph and the definitions (in Redis) dropped
// Baselines, in the same process tree:
//   compact expansion (bench/lib/graph-compact.mjs, a process of its own so
//     its memory does not mix with the product's): the same expansion rules
//     over integer-indexed tables instead of per-quantum objects; its counts
//     are checked against expandGraph's → expand_vs_compact, model_vs_compact,
//     peak_rss_vs_compact
//   naive store (in the product process, on the fresh server just before the
//     real store): saveCampaign's writes without pipelining (one awaited HSET
//     per definition and per progress) on a stride sample of --sample quanta
//     (default 20,000), extrapolated to N → store_speedup_vs_pipelined
// Targets (reported, never enforced): expand ≤ 20 s, store ≤ 15 s, peak RSS ≤ 1.5 GB.
//
// The first process only runs the two measuring processes, each with
// --expose-gc (to measure live heap between phases) and --max-old-space-size
// (half the machine's memory, at most 8 GB, never less than node's default):
// the coordinator's model at 1M quanta does not fit node's default heap on
// small machines. Node flags given to the first process (e.g. --cpu-prof) are
// passed on. `--load` also times WorkloadManager.load (a coordinator restart), right
// after submit and again once every quantum is SUCCEEDED (its model's size).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { getHeapStatistics } from "node:v8";
import { parseBenchArgs } from "./lib/bench-tools.mjs";

const ROLE_ENV = "ORRERY_GRAPH_BENCH_ROLE";
const MB = 1024 * 1024;
const TARGETS = { expand_s: 20, store_s: 15, peak_rss_mb: 1536 };

function parseArgs(argv) {
  const opts = parseBenchArgs("graph", argv, { json: false, quanta: 1_000_000, sample: 20_000, load: false });
  if (opts.quanta < 8) fail("--quanta must be at least 8");
  return opts;
}

function fail(message) {
  process.stderr.write(`graph: ${message}\n`);
  process.exit(2);
}

const say = (m) => process.stderr.write(`graph: ${m}\n`);
const seconds = (t0) => (performance.now() - t0) / 1000;
/** Heap in use after a full collection, with typed arrays' backing stores (measuring processes run with --expose-gc). */
const liveHeapMB = () => {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / MB;
};
const maxRssMB = () => process.resourceUsage().maxRSS / 1024;

/** Runs the compact baseline, then the product, each in a node process of its own, and reports both. */
async function coordinate(opts) {
  const defaultMB = Math.floor(getHeapStatistics().heap_size_limit / MB);
  const heapMB = Math.max(defaultMB, Math.min(8192, Math.floor(totalmem() / MB / 2)));
  let current;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      interrupted = true;
      current?.kill(signal);
    });
  }
  const run = (role) =>
    new Promise((resolve, reject) => {
      const args = [`--max-old-space-size=${heapMB}`, "--expose-gc", ...process.execArgv, process.argv[1], ...process.argv.slice(2)];
      current = spawn(process.execPath, args, { stdio: ["inherit", "inherit", "inherit", "ipc"], env: { ORRERY_LOG_LEVEL: "warn", ...process.env, [ROLE_ENV]: role } });
      let figures;
      current.on("message", (m) => (figures = m));
      current.on("error", reject);
      current.on("exit", (code, signal) => {
        if (code === 0 && figures) resolve(figures);
        else reject(new Error(`the ${role} run ended with ${signal ?? `exit code ${String(code)}`}`));
      });
    });
  try {
    const compact = await run("compact");
    const f = { ...(await run("product")), heap_limit_mb: heapMB };
    Object.assign(f, {
      compact_expand_s: compact.compact_expand_s,
      compact_model_mb: compact.compact_model_mb,
      compact_peak_rss_mb: compact.compact_peak_rss_mb,
      baseline_counts_match: JSON.stringify(compact.counts) === JSON.stringify(f.counts),
      expand_vs_compact: f.expand_s / compact.compact_expand_s,
      model_vs_compact: f.resident_model_mb / compact.compact_model_mb,
      peak_rss_vs_compact: f.peak_rss_mb / compact.compact_peak_rss_mb,
    });
    if (!f.baseline_counts_match) say(`WARNING: the compact baseline planned ${JSON.stringify(compact.counts)}, expandGraph ${JSON.stringify(f.counts)}`);
    delete f.counts;
    report(f, opts.json);
  } catch (err) {
    if (interrupted) process.exit(130);
    fail(err.message);
  }
}

function send(figures) {
  if (process.send) process.send(figures, () => process.disconnect());
  else process.stdout.write(`${JSON.stringify(figures)}\n`); // run on its own (e.g. to profile one role)
}

async function compactRun(opts) {
  const [{ sizing, campaignYaml, buildCatalog }, { compactExpand }, { parseCampaign }] = await Promise.all([
    import("./lib/graph-campaign.mjs"),
    import("./lib/graph-compact.mjs"),
    import("../dist/coordinator/campaign/index.js"),
  ]);
  const size = sizing(opts.quanta);
  say(`baseline: compact expansion of ${size.total} quanta`);
  const heap0 = liveHeapMB();
  const catalog = buildCatalog(size);
  const t = performance.now();
  const compact = compactExpand(parseCampaign({ specYaml: campaignYaml("graph-bench"), sourceName: "graph-bench.yaml" }), catalog);
  const f = { compact_expand_s: seconds(t) };
  f.compact_peak_rss_mb = maxRssMB();
  f.compact_model_mb = liveHeapMB() - heap0; // its tables + the catalog files they point at
  f.counts = { tasks: compact.tasks, edges: compact.edges, inputs: compact.inputs };
  send(f);
}

async function productRun(opts) {
  const [{ sizing, campaignYaml, buildCatalog }, { parseCampaign, expandGraph }, { buildExpansion }, { progressToStore, newCampaignRecord }, { settleRows }, { saveCampaign }, { CoordinatorStore }, { DefinitionEncoder }, { CampaignTable }, { startRedis }, { stopProcess }] = await Promise.all([
    import("./lib/graph-campaign.mjs"),
    import("../dist/coordinator/campaign/index.js"),
    import("../dist/coordinator/workload/quantum-builder.js"),
    import("../dist/coordinator/workload/initial-progress.js"),
    import("../dist/coordinator/workload/quantum-links.js"),
    import("../dist/coordinator/workload/quanta-store.js"),
    import("../dist/coordinator/store/redis-store.js"),
    import("../dist/coordinator/store/definitions.js"),
    import("../dist/coordinator/workload/campaign-table.js"),
    import("../dist/common/local/servers.js"),
    import("../dist/common/local/child.js"),
  ]);
  const size = sizing(opts.quanta);
  const name = "graph-bench";
  const source = { specYaml: campaignYaml(name), sourceName: "graph-bench.yaml" };
  const f = { quanta: size.total, raws: size.raws, patches: size.patches };

  const dir = mkdtempSync(join(tmpdir(), "orrery-bench-graph-"));
  let redis;
  let store;
  let cleaning;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await store?.close().catch(() => {});
      if (redis) await stopProcess(redis.pid).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    })());
  for (const signal of ["SIGINT", "SIGTERM"]) {
    // `on`, not `once`: Ctrl-C reaches this process twice (its group, and forwarded by its parent).
    process.on(signal, () => {
      interrupted = true;
      void cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    });
  }
  try {
    const heap0 = liveHeapMB();
    say(`${size.total} quanta: ${size.raws} raws (${size.exposures} exposures × ${size.detectors} detectors), ${size.biases} biases, ${size.patches} patches`);
    let t = performance.now();
    let catalog = buildCatalog(size);
    f.catalog_build_s = seconds(t);
    f.catalog_heap_mb = liveHeapMB() - heap0;
    const heapBefore = heap0 + f.catalog_heap_mb;
    f.rss_before_expand_mb = maxRssMB();

    say("expanding (parseCampaign + expandGraph + buildExpansion)");
    t = performance.now();
    const spec = parseCampaign(source);
    f.parse_s = seconds(t);
    t = performance.now();
    let graph = expandGraph(spec, catalog);
    f.expand_graph_s = seconds(t);
    f.rss_after_expand_graph_mb = maxRssMB();
    f.graph_heap_mb = liveHeapMB() - heapBefore;
    t = performance.now();
    let expansion = buildExpansion(spec, graph);
    f.build_rows_s = seconds(t);
    f.rss_after_build_rows_mb = maxRssMB();
    f.expand_s = f.parse_s + f.expand_graph_s + f.build_rows_s;
    f.edges = graph.edges;
    f.counts = { tasks: graph.tasks, edges: graph.edges, inputs: graph.inputs };
    // The expansion makes definitions from the planned graph while they are stored; the catalog is done with.
    graph = undefined;
    catalog = undefined;
    if (expansion.count !== size.total) say(`WARNING: expected ${size.total} quanta, expandGraph planned ${expansion.count}`);
    f.quanta = expansion.count;

    say("starting redis-server (AOF on)");
    redis = await startRedis({ dir, logDir: dir });
    store = new CoordinatorStore(redis.url);
    await store.connect();

    // Unpipelined baseline first, on the empty server: nothing of the big write (e.g. an AOF rewrite) is running then.
    say(`baseline: unpipelined store of a ${Math.min(opts.sample, expansion.count)}-quantum sample`);
    const stride = Math.max(1, Math.floor(expansion.count / opts.sample));
    const naiveKeys = { defs: `orrery:campaign:${name}-naive:quanta`, progress: `orrery:campaign:${name}-naive:progress` };
    let sampled = 0;
    t = performance.now();
    for (let i = 0; i < expansion.count && sampled < opts.sample; i += stride) {
      const q = expansion.definition(i);
      await store.redis.hset(naiveKeys.defs, q.id, JSON.stringify(q));
      await store.redis.hset(naiveKeys.progress, q.id, JSON.stringify({ state: "PENDING", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: 0, readyAtMs: 0, produced: [] }));
      sampled++;
    }
    f.store_naive_sample = sampled;
    f.store_naive_s = (seconds(t) * expansion.count) / sampled;
    await store.redis.del(naiveKeys.defs, naiveKeys.progress);

    const aof0 = dirBytes(join(dir, "redis"));

    say("storing (what WorkloadManager.submit does: rows, first states, saveCampaign)");
    const cpu0 = { node: process.cpuUsage(), redis: cpuSeconds(redis.pid) };
    t = performance.now();
    const record = newCampaignRecord(spec, Date.now());
    const table = new CampaignTable();
    // The sites of the catalog's RSEs, as the coordinator reads them from the DBB: the replica index keeps where every input is.
    table.replicas.setRseSite("site-a-disk", "site-a");
    table.replicas.setRseSite("site-b-tape", "site-b");
    const live = table.addCampaign(record, spec);
    table.appendRows(live, expansion);
    settleRows(live.rows, 0, expansion.count, new Map());
    // Only progress not in its first state is stored (none here: nothing is reused).
    await saveCampaign(store, record, expansion, live.rows.ranges, progressToStore(live.rows, 0));
    f.store_s = seconds(t);
    f.store_speedup_vs_pipelined = f.store_naive_s / f.store_s;
    const nodeCpu = process.cpuUsage(cpu0.node);
    f.store_node_cpu_s = (nodeCpu.user + nodeCpu.system) / 1e6;
    f.store_redis_cpu_s = cpuSeconds(redis.pid) - cpu0.redis;
    f.rss_after_store_mb = maxRssMB();

    t = performance.now();
    table.addRows(live, 0);
    f.index_s = seconds(t);
    f.peak_rss_mb = maxRssMB();

    // Where store_s goes: the JSON it writes, made on its own (as saveCampaign makes it).
    t = performance.now();
    let payload = 0;
    const encoder = new DefinitionEncoder();
    for (let i = 0; i < expansion.count; i++) payload += encoder.encode(expansion.definition(i)).length;
    f.serialize_s = seconds(t);
    f.payload_mb = payload / MB;

    // What stays once submit returns: the table and its rows.
    expansion = undefined;
    f.resident_model_mb = liveHeapMB() - heap0;
    f.resident_bytes_per_quantum = Math.round((f.resident_model_mb * MB) / f.quanta);
    // Used after the measurement, so an optimised frame cannot let the table go before it.
    f.ready = table.campaigns.get(name).ready.size;

    const info = await store.redis.info("memory");
    f.redis_used_memory_mb = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / MB;
    f.redis_peak_rss_mb = vmHwmMB(redis.pid);
    f.aof_mb = (dirBytes(join(dir, "redis")) - aof0) / MB;

    if (opts.load) {
      say("loading back (WorkloadManager.load)");
      t = performance.now();
      const { WorkloadManager } = await import("../dist/coordinator/workload/manager.js");
      const { createLogger } = await import("../dist/common/logger.js");
      const manager = new WorkloadManager(store, createLogger("graph-bench"), 60_000, () => {}, { files: () => Promise.resolve([]) });
      await manager.load();
      f.load_s = seconds(t);
      f.loaded_quanta = (await manager.inspect(name))?.rows.length ?? 0;
      f.peak_rss_with_load_mb = maxRssMB();

      // The campaign run to the end: every quantum SUCCEEDED with one attempt and one replica, as the journal stores it.
      say("marking every quantum SUCCEEDED in Redis, then loading back again");
      const { rows } = await manager.inspect(name);
      const role = new Map(spec.tasks.map((task) => [task.name, Object.keys(task.outputs)[0]]));
      for (let from = 0; from < rows.length; from += 10_000) {
        const updates = new Map();
        for (let row = from; row < Math.min(rows.length, from + 10_000); row++) {
          const id = rows.id(row);
          updates.set(id, {
            state: "SUCCEEDED",
            attempts: [{ number: 1, agent: "agent-1", site: "site-a", leaseId: `${id}#1`, outcome: "succeeded", exitCode: 0, message: "", startMs: 1, endMs: 2 }],
            failures: 0, kills: 0, infraErrors: 0, memoryMB: rows.memoryMB(row), readyAtMs: 0,
            produced: [{ role: role.get(rows.task(row)), did: `hsc-drp:${id}.fits`, rse: "site-a-disk", bytes: 1000, adler32: "0000abcd", md5: "0123456789abcdef0123456789abcdef" }],
          });
        }
        await store.saveProgress(name, updates);
      }
      t = performance.now();
      // Held in an object read after each measurement, so an optimised frame keeps (or lets go of) it exactly there.
      const held = { manager: new WorkloadManager(store, createLogger("graph-bench"), 60_000, () => {}, { files: () => Promise.resolve([]) }) };
      await held.manager.load();
      f.load_finished_s = seconds(t);
      const withModel = liveHeapMB();
      f.finished_succeeded = (await held.manager.inspect(name))?.counts.SUCCEEDED ?? 0;
      held.manager = undefined;
      f.finished_model_mb = withModel - liveHeapMB();
    }
  } finally {
    await cleanup();
  }
  send(f);
}

/** CPU time of another process so far (utime + stime from /proc, in USER_HZ = 100 ticks a second on Linux). */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function vmHwmMB(pid) {
  try {
    const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb === undefined ? 0 : Number(kb) / 1024;
  } catch {
    return 0;
  }
}

function dirBytes(path) {
  let n = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

function report(f, json) {
  const s = (v) => (v === undefined ? "-" : `${v.toFixed(2)} s`);
  const m = (v) => (v === undefined ? "-" : `${v.toFixed(0)} MB`);
  const x = (v) => (v === undefined ? "-" : `${v.toFixed(1)}×`);
  const target = (key, fmt) => `≤ ${fmt(TARGETS[key])} ${f[key] <= TARGETS[key] ? "met" : "MISSED"}`;
  const rows = [
    ["quanta", String(f.quanta), `${f.raws} raws × 3 tasks + ${f.patches} coadd patches; ${f.edges} edges`],
    ["expand_s", s(f.expand_s), target("expand_s", s)],
    ["  parseCampaign", s(f.parse_s), ""],
    ["  expandGraph", s(f.expand_graph_s), `the planned graph holds ${m(f.graph_heap_mb)} of heap`],
    ["  buildExpansion", s(f.build_rows_s), "ids, links and identities as rows"],
    ["store_s", s(f.store_s), target("store_s", s)],
    ["  JSON of what is stored", s(f.serialize_s), `${m(f.payload_mb)} of JSON (timed apart)`],
    ["  CPU while storing", "", `node ${s(f.store_node_cpu_s)}, redis-server ${s(f.store_redis_cpu_s)}`],
    ["index_s", s(f.index_s), "CampaignTable.addRows: counts and ready set (not in a target)"],
    ["peak_rss_mb", m(f.peak_rss_mb), `${target("peak_rss_mb", m)}; heap limit ${m(f.heap_limit_mb)}`],
    ["  high-water after", "", `catalog ${m(f.rss_before_expand_mb)}, expandGraph ${m(f.rss_after_expand_graph_mb)}, buildExpansion ${m(f.rss_after_build_rows_mb)}, store ${m(f.rss_after_store_mb)}`],
    ["resident_model_mb", m(f.resident_model_mb), `${f.resident_bytes_per_quantum} B per quantum kept after submit`],
    ["redis", m(f.redis_used_memory_mb), `used_memory; redis peak RSS ${m(f.redis_peak_rss_mb)}, AOF ${m(f.aof_mb)}`],
    ["catalog snapshot", s(f.catalog_build_s), `${m(f.catalog_heap_mb)} of heap (built, not timed)`],
    ["baseline: compact expansion", s(f.compact_expand_s), `tables + catalog ${m(f.compact_model_mb)}, peak RSS ${m(f.compact_peak_rss_mb)}; counts ${f.baseline_counts_match ? "match" : "DIFFER"}`],
    ["  expand_vs_compact", x(f.expand_vs_compact), "expand_s / compact expansion"],
    ["  model_vs_compact", x(f.model_vs_compact), "resident model / compact tables"],
    ["  peak_rss_vs_compact", x(f.peak_rss_vs_compact), "peak RSS / compact run's peak RSS"],
    ["baseline: unpipelined store", s(f.store_naive_s), `extrapolated from ${f.store_naive_sample} quanta`],
    ["  store_speedup_vs_pipelined", x(f.store_speedup_vs_pipelined), "unpipelined / store_s"],
  ];
  if (f.load_s !== undefined) {
    rows.push(["load (restart)", s(f.load_s), `${f.loaded_quanta} quanta back; peak RSS then ${m(f.peak_rss_with_load_mb)}`]);
    rows.push(["  once all succeeded", s(f.load_finished_s), `${f.finished_succeeded} SUCCEEDED back; the model then holds ${m(f.finished_model_mb)}`]);
  }
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  for (const [a, b, c] of rows) process.stdout.write(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}\n`);
  if (!json) return;
  const round = (v) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toFixed(3)) : v);
  const out = { bench: "graph" };
  for (const [k, v] of Object.entries(f)) out[k] = round(v);
  out.targets = { ...TARGETS, met: Object.keys(TARGETS).every((k) => f[k] <= TARGETS[k]) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/** Set on SIGINT/SIGTERM: what fails while the servers are being stopped is not an error to report. */
let interrupted = false;
const opts = parseArgs(process.argv.slice(2));
const role = process.env[ROLE_ENV];
const run = role === "compact" ? compactRun : role === "product" ? productRun : coordinate;
await run(opts).catch((err) => {
  if (!interrupted) throw err;
});
