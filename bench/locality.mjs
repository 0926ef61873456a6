#!/usr/bin/env node
// `npm run bench -- locality [--json] [--raws N] [--delay SECONDS] [--prestage-raws N] [--cluster [--cluster-quanta N] [--keep]]`
//
// The coordinator's real scheduler (CampaignTable, ReadyQueue, selectQuanta
// from dist/) drives a simulated cluster in simulated time: 4 sites, 64
// agents of 2 cores (16 per site), a campaign of isr (raw + bias) and
// calibrate (isr's output) per raw: 2 × N quanta (default N = 12,000).
// Replicas are spread unevenly: each raw's first copy is at site-a 40%,
// site-b 30%, site-c 20%, site-d 10% of the time, and 40% of raws have a
// second copy at another site; each of the 8 bias files sits at two sites.
// Sizes: raw 40–80 MB, bias 60 MB, isr output 40–80 MB (where isr ran).
// A quantum runs 30–50 s (isr) or 20–40 s (calibrate) plus its stage-in:
// local bytes at 500 MB/s, bytes from another site at 50 MB/s.
// Agents ask for work as the product's do: when a quantum ends and on the
// coordinator's 1 s tick.
//
// Figures:
//   cross_site_bytes   input bytes read from another site, with locality
//   blind_bytes        the same with locality off (the index knows no sites)
//   lower_bound_bytes  bytes that must cross: per isr quantum, its input bytes
//                      no single site holds (calibrate can always run where
//                      its isr ran)
//   ratio_to_bound, ratio_to_blind, makespan_ratio (ours / blind)
// Targets (reported, never enforced): ratio_to_bound ≤ 1.05, ratio_to_blind ≤ 0.33,
// makespan_ratio ≤ 1.1.
//
// Pre-staging (lib/prestage-sim.mjs): the data only at a busy site, idle
// agents at another; with the coordinator's pre-staging decision on and off:
//   prestage_at_b_local_on/off   share of quanta run at the idle site on local data
//   prestage_remote_bytes_on/off input bytes read from another site
//   prestage_copied_bytes        bytes the pre-staging rules copied
//   prestage_makespan_ratio      makespan on / off
// --cluster (lib/prestage-cluster.mjs) runs the case on a real local cluster
// too (prestage_cluster_*); it needs a dbb with transfer workers.
import { Events, loadCampaign, MB, prng, dist } from "./lib/locality-sim.mjs";
import { simulatePrestage, PRESTAGE_SETUP } from "./lib/prestage-sim.mjs";
import { runPrestageCluster } from "./lib/prestage-cluster.mjs";

const { selectQuanta } = dist;

const TARGETS = { ratio_to_bound: 1.05, ratio_to_blind: 0.33, makespan_ratio: 1.1 };
const SITES = ["site-a", "site-b", "site-c", "site-d"];
const FIRST_COPY = [0.4, 0.3, 0.2, 0.1];
const AGENTS_PER_SITE = 16;
const CORES = 2;
const LOCAL_BPS = 500 * MB;
const REMOTE_BPS = 50 * MB;
const TICK_MS = 1000;

function parseArgs(argv) {
  const out = { json: false, raws: 12_000, delayS: 30, prestageRaws: 2000, cluster: false, clusterQuanta: 48, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") out.json = true;
    else if (a === "--raws") out.raws = Number(argv[++i]);
    else if (a === "--delay") out.delayS = Number(argv[++i]);
    else if (a === "--prestage-raws") out.prestageRaws = Number(argv[++i]);
    else if (a === "--cluster") out.cluster = true;
    else if (a === "--cluster-quanta") out.clusterQuanta = Number(argv[++i]);
    else if (a === "--keep") out.keep = true;
    else {
      process.stderr.write(`locality bench: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  return out;
}

/** The data and work of the campaign: the truth both runs are measured against. */
function makeWorld(raws) {
  const rnd = prng(42);
  const pickSite = () => {
    let x = rnd();
    for (let s = 0; s < SITES.length; s++) if ((x -= FIRST_COPY[s]) < 0) return s;
    return SITES.length - 1;
  };
  const bias = Array.from({ length: 8 }, (_, i) => {
    const a = Math.floor(rnd() * 4);
    const b = (a + 1 + Math.floor(rnd() * 3)) % 4;
    return { did: `hsc:bias_${i}`, bytes: 60 * MB, sites: [a, b] };
  });
  const raw = Array.from({ length: raws }, (_, i) => {
    const first = pickSite();
    const sites = [first];
    if (rnd() < 0.4) sites.push((first + 1 + Math.floor(rnd() * 3)) % 4);
    return { did: `hsc:raw_${i}`, bytes: Math.round((40 + 40 * rnd()) * MB), sites, bias: bias[i % bias.length], outBytes: Math.round((40 + 40 * rnd()) * MB), isrS: 30 + 20 * rnd(), calS: 20 + 20 * rnd() };
  });
  return { raw, bias };
}

/** Runs the campaign to the end; returns cross-site bytes and makespan (simulated seconds). */
function simulate(world, locality, delayS) {
  let now = 0;
  const { t, c } = loadCampaign(world, SITES, locality, () => now);
  const n = world.raw.length;
  const agents = SITES.flatMap((site, s) => Array.from({ length: AGENTS_PER_SITE }, (_, k) => ({ id: `${site}-${k}`, site, s, free: CORES })));
  const activeSites = SITES;
  const ranAt = new Int8Array(2 * n).fill(-1);
  const ends = new Events();
  let cross = 0;
  let done = 0;
  let decisions = 0;
  const started = performance.now();

  const bytesOf = (row, s) => {
    if (row < n) {
      const r = world.raw[row];
      const remote = (r.sites.includes(s) ? 0 : r.bytes) + (r.bias.sites.includes(s) ? 0 : r.bias.bytes);
      return { total: r.bytes + r.bias.bytes, remote };
    }
    const maker = row - n;
    const out = world.raw[maker].outBytes;
    return { total: out, remote: ranAt[maker] === s ? 0 : out };
  };
  const offer = (a) => {
    while (a.free > 0) {
      decisions++;
      const picked = selectQuanta(t, { id: a.id, site: a.site, kind: "static", freeCores: a.free, freeMemoryMB: a.free * 1000, freeDiskMB: a.free * 500 }, now, { activeSites, localityDelayMs: delayS * 1000 });
      if (picked.length === 0) return;
      for (const { row } of picked) {
        t.transition(c, row, "leased");
        a.free--;
        ranAt[row] = a.s;
        const { total, remote } = bytesOf(row, a.s);
        cross += remote;
        const runS = row < n ? world.raw[row].isrS : world.raw[row - n].calS;
        ends.push({ at: now + 1000 * (runS + (total - remote) / LOCAL_BPS + remote / REMOTE_BPS), row, a });
      }
    }
  };

  for (const a of agents) offer(a);
  while (done < 2 * n) {
    const next = ends.peek();
    const tick = (Math.floor(now / TICK_MS) + 1) * TICK_MS;
    if (next && next.at <= tick) {
      now = next.at;
      const { row, a } = ends.pop();
      if (row < n) {
        if (locality) c.rows.locality.setProduced(row, t.replicas.site(a.site), world.raw[row].outBytes);
        t.transition(c, row, "succeeded");
        t.transition(c, row + n, "inputs_ready");
      } else t.transition(c, row, "succeeded");
      done++;
      a.free++;
      offer(a);
    } else {
      now = tick;
      for (const a of agents) if (a.free > 0) offer(a);
    }
  }
  return { cross, makespanS: now / 1000, decisions, decideS: (performance.now() - started) / 1000 };
}

/** Bytes that must cross whatever the placement: per isr quantum, its input bytes no single site holds. */
function lowerBound(world) {
  let bound = 0;
  for (const r of world.raw) {
    let best = 0;
    for (let s = 0; s < SITES.length; s++) best = Math.max(best, (r.sites.includes(s) ? r.bytes : 0) + (r.bias.sites.includes(s) ? r.bias.bytes : 0));
    bound += r.bytes + r.bias.bytes - best;
  }
  return bound;
}

const opts = parseArgs(process.argv.slice(2));
const world = makeWorld(opts.raws);
const ours = simulate(world, true, opts.delayS);
const blind = simulate(world, false, opts.delayS);
const bound = lowerBound(world);
const r = (x) => Math.round(x * 1000) / 1000;
const figures = {
  bench: "locality",
  quanta: 2 * opts.raws,
  sites: SITES.length,
  agents: SITES.length * AGENTS_PER_SITE,
  locality_delay_s: opts.delayS,
  cross_site_bytes: ours.cross,
  lower_bound_bytes: bound,
  blind_bytes: blind.cross,
  ratio_to_bound: r(ours.cross / bound),
  ratio_to_blind: r(ours.cross / blind.cross),
  makespan_s: r(ours.makespanS),
  blind_makespan_s: r(blind.makespanS),
  makespan_ratio: r(ours.makespanS / blind.makespanS),
  decisions: ours.decisions,
  decision_us: r((1e6 * ours.decideS) / ours.decisions),
};
const gb = (b) => `${(b / 1e9).toFixed(1)} GB`;
const mark = (k, ok) => `${figures[k]} (target ${k === "ratio_to_blind" || k === "ratio_to_bound" || k === "makespan_ratio" ? "≤" : ""} ${TARGETS[k]}: ${ok ? "met" : "not met"})`;
console.log(`locality: ${figures.quanta} quanta, ${figures.agents} agents at ${figures.sites} sites, locality delay ${opts.delayS} s (simulated time)`);
console.log(`  cross-site bytes   ours ${gb(ours.cross)}   blind ${gb(blind.cross)}   lower bound ${gb(bound)}`);
console.log(`  ratio_to_bound     ${mark("ratio_to_bound", figures.ratio_to_bound <= TARGETS.ratio_to_bound)}`);
console.log(`  ratio_to_blind     ${mark("ratio_to_blind", figures.ratio_to_blind <= TARGETS.ratio_to_blind)}`);
console.log(`  makespan           ours ${figures.makespan_s} s   blind ${figures.blind_makespan_s} s   ratio ${mark("makespan_ratio", figures.makespan_ratio <= TARGETS.makespan_ratio)}`);
console.log(`  scheduler          ${figures.decisions} decisions, ${figures.decision_us} µs each (real time, whole simulation step)`);

// Pre-staging: the same shape of campaign with its data at one busy site and idle agents at another.
const on = simulatePrestage({ raws: opts.prestageRaws, delayS: opts.delayS, prestage: true });
const off = simulatePrestage({ raws: opts.prestageRaws, delayS: opts.delayS, prestage: false });
const q = 2 * opts.prestageRaws;
Object.assign(figures, {
  prestage_quanta: q,
  prestage_at_b_local_on: r(on.at_b_local / q),
  prestage_at_b_local_off: r(off.at_b_local / q),
  prestage_at_b_on: r(on.at_b / q),
  prestage_at_b_off: r(off.at_b / q),
  prestage_remote_bytes_on: on.remote_bytes,
  prestage_remote_bytes_off: off.remote_bytes,
  prestage_copied_bytes: on.copied_bytes,
  prestage_files_asked: on.files_asked,
  prestage_makespan_on_s: r(on.makespan_s),
  prestage_makespan_off_s: r(off.makespan_s),
  prestage_makespan_ratio: r(on.makespan_s / off.makespan_s),
  prestage_pass_us: r(on.pass_us),
});
const pct = (x) => `${(100 * x).toFixed(1)} %`;
console.log(`pre-staging: ${q} quanta, ${PRESTAGE_SETUP}, locality delay ${opts.delayS} s (simulated time)`);
console.log(`  ran at site-b on local data   on ${pct(figures.prestage_at_b_local_on)}   off ${pct(figures.prestage_at_b_local_off)}   (at site-b at all: on ${pct(figures.prestage_at_b_on)}, off ${pct(figures.prestage_at_b_off)})`);
console.log(`  input bytes read remotely     on ${gb(on.remote_bytes)}   off ${gb(off.remote_bytes)}   copied by rules (on) ${gb(on.copied_bytes)} in ${on.files_asked} files`);
console.log(`  makespan                      on ${figures.prestage_makespan_on_s} s   off ${figures.prestage_makespan_off_s} s   ratio ${figures.prestage_makespan_ratio}`);
console.log(`  decision                      ${on.passes} passes, ${figures.prestage_pass_us} µs each (real time, in the manager's mailbox)`);
if (opts.cluster) Object.assign(figures, await runPrestageCluster({ quanta: opts.clusterQuanta, keep: opts.keep }));
if (opts.json) console.log(JSON.stringify(figures));
