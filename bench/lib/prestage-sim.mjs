// The pre-staging case of the locality bench, in simulated time. Every raw
// and bias file sits only at site-a, whose 2 agents (4 cores) are saturated;
// site-b's 8 agents (16 cores) have nothing local. Delay scheduling keeps
// the quanta at site-a while it keeps starting them, so without pre-staging
// site-b sits idle. With it, the coordinator's own decision (prestageTurn
// from dist/, with the pre-stager's default bounds) runs every 2 s as the
// coordinator runs it; each file it asks for lands at site-b-disk once its
// bytes have crossed (4 copies at once per destination at 50 MB/s each: the
// transfer workers' default), and the replica event moves its quanta as the
// locality feed does. Same campaign shape, sizes, run times and stage-in
// speeds as the main case; agents ask for work as the product's do.
import { dist, Events, loadCampaign, MB, prng } from "./locality-sim.mjs";

const SITES = ["site-a", "site-b"];
const AGENTS = [2, 8];
const CORES = 2;
const LOCAL_BPS = 500 * MB;
const REMOTE_BPS = 50 * MB;
/** Copies at once into one RSE, each at the cross-site speed. */
const STREAMS = 4;
const TICK_MS = 1000;

export const PRESTAGE_SETUP = `data only at site-a: ${AGENTS[0]} agents × ${CORES} cores there, ${AGENTS[1]} idle agents × ${CORES} cores at site-b`;

function makeWorld(raws) {
  const rnd = prng(7);
  const bias = Array.from({ length: 8 }, (_, i) => ({ did: `hsc:bias_${i}`, bytes: 60 * MB, sites: [0] }));
  const raw = Array.from({ length: raws }, (_, i) => ({
    did: `hsc:raw_${i}`,
    bytes: Math.round((40 + 40 * rnd()) * MB),
    sites: [0],
    bias: bias[i % bias.length],
    outBytes: Math.round((40 + 40 * rnd()) * MB),
    isrS: 30 + 20 * rnd(),
    calS: 20 + 20 * rnd(),
  }));
  return { raw, bias };
}

/**
 * Runs the campaign to the end with pre-staging on or off. Returns the
 * quanta run at site-b (and how many of those read only local data), input
 * bytes read across sites, bytes copied by pre-staging rules, files asked
 * for, the makespan in simulated seconds, and the real time of a planning
 * turn (what the manager's mailbox spends on it).
 */
export function simulatePrestage({ raws, delayS, prestage }) {
  const world = makeWorld(raws);
  let now = 0;
  const { t, c } = loadCampaign(world, SITES, true, () => now);
  const n = raws;
  const agents = SITES.flatMap((site, s) => Array.from({ length: AGENTS[s] }, (_, k) => ({ id: `${site}-${k}`, site, s, free: CORES })));
  const opts = dist.DEFAULT_PRESTAGE;
  const ledger = new dist.PrestageLedger();
  const ranAt = new Int8Array(2 * n).fill(-1);
  const events = new Events();
  const streams = SITES.map(() => new Float64Array(STREAMS));
  const out = { at_b: 0, at_b_local: 0, remote_bytes: 0, copied_bytes: 0, files_asked: 0, makespan_s: 0, passes: 0, pass_us: 0 };
  let done = 0;

  /** Input bytes of a row at site `s`, and those not there now. */
  const bytesOf = (row, s) => {
    if (row >= n) {
      const bytes = world.raw[row - n].outBytes;
      return { total: bytes, remote: ranAt[row - n] === s ? 0 : bytes };
    }
    let total = 0;
    let remote = 0;
    for (const f of c.rows.locality.files(row)) {
      const b = t.replicas.bytes(f);
      total += b;
      if ((t.replicas.sites(f) & (1 << s)) === 0) remote += b;
    }
    return { total, remote };
  };
  const offer = (a) => {
    while (a.free > 0) {
      const slot = { id: a.id, site: a.site, kind: "static", freeCores: a.free, freeMemoryMB: a.free * 1000, freeDiskMB: a.free * 500 };
      const picked = dist.selectQuanta(t, slot, now, { activeSites: SITES, localityDelayMs: delayS * 1000 });
      if (picked.length === 0) return;
      for (const { row } of picked) {
        t.transition(c, row, "leased");
        a.free--;
        ranAt[row] = a.s;
        const { total, remote } = bytesOf(row, a.s);
        out.remote_bytes += remote;
        if (a.s === 1) {
          out.at_b++;
          if (remote === 0) out.at_b_local++;
        }
        const runS = row < n ? world.raw[row].isrS : world.raw[row - n].calS;
        events.push({ at: now + 1000 * (runS + (total - remote) / LOCAL_BPS + remote / REMOTE_BPS), kind: "end", row, a });
      }
    }
  };
  /** One pre-staging pass: what the agents can take, the decision, and the copies it asks for. */
  const pass = () => {
    const sites = SITES.map((site, s) => {
      const mine = agents.filter((a) => a.s === s);
      return { site, agents: mine.length, cores: mine.length * CORES, freeCores: mine.reduce((sum, a) => sum + a.free, 0), maxCores: CORES, maxMemoryMB: CORES * 1000, nonSpot: true, rse: `${site}-disk` };
    });
    const started = performance.now();
    const orders = dist.prestageTurn(t, sites, ledger, opts, now);
    out.pass_us += 1000 * (performance.now() - started);
    out.passes++;
    for (const order of orders) {
      const lanes = streams[SITES.indexOf(order.site)];
      for (const { file } of order.files) {
        let lane = 0;
        for (let k = 1; k < lanes.length; k++) if (lanes[k] < lanes[lane]) lane = k;
        const bytes = t.replicas.bytes(file);
        lanes[lane] = Math.max(now, lanes[lane]) + (1000 * bytes) / REMOTE_BPS;
        out.files_asked++;
        events.push({ at: lanes[lane], kind: "land", file, rse: order.rse, bytes });
      }
    }
  };

  for (const a of agents) offer(a);
  let nextTick = TICK_MS;
  let nextPass = opts.intervalMs;
  while (done < 2 * n) {
    const next = events.peek();
    const timer = prestage ? Math.min(nextTick, nextPass) : nextTick;
    if (next && next.at <= timer) {
      events.pop();
      now = next.at;
      if (next.kind === "land") {
        out.copied_bytes += next.bytes;
        // What LocalityFeed.replicaEvents does with the DBB's event.
        if (t.replicas.setReplica(next.file, next.rse, true)) c.ready.replicasChanged([next.file]);
        continue;
      }
      const { row, a } = next;
      if (row < n) {
        c.rows.locality.setProduced(row, t.replicas.site(a.site), world.raw[row].outBytes);
        t.transition(c, row, "succeeded");
        t.transition(c, row + n, "inputs_ready");
      } else t.transition(c, row, "succeeded");
      done++;
      a.free++;
      offer(a);
    } else if (prestage && nextPass <= nextTick) {
      now = nextPass;
      nextPass += opts.intervalMs;
      pass();
    } else {
      now = nextTick;
      nextTick += TICK_MS;
      for (const a of agents) if (a.free > 0) offer(a);
    }
  }
  out.makespan_s = now / 1000;
  out.pass_us /= Math.max(1, out.passes);
  return out;
}
