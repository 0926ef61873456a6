// What the simulated locality benches share: the coordinator's own tables
// from dist/, a deterministic PRNG, the isr → calibrate campaign loaded from
// a "world" (files and where they are, by site index), and a heap of timed
// events.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
export const dist = {
  ...(await import(join(DIST, "coordinator/workload/campaign-table.js"))),
  ...(await import(join(DIST, "coordinator/workload/scheduler.js"))),
  ...(await import(join(DIST, "coordinator/workload/initial-progress.js"))),
  ...(await import(join(DIST, "coordinator/workload/prestage-plan.js"))),
  ...(await import(join(DIST, "coordinator/workload/prestage-ledger.js"))),
  ...(await import(join(DIST, "coordinator/workload/prestager.js"))),
  ...(await import(join(DIST, "coordinator/campaign/spec.js"))),
  ...(await import(join(DIST, "coordinator/campaign/identity.js"))),
};

export const MB = 1e6;

/** A small deterministic PRNG (mulberry32): every run sees the same data. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function campaignSpec() {
  return dist.parseCampaign({
    sourceName: "locality.yaml",
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: locality
pipeline:
  tasks:
    isr: {command: [isr], dimensions: [detector], inputs: {raw: {datasetType: raw}, bias: {datasetType: bias, calibration: true}}, outputs: {o: {datasetType: postISRCCD}}, resources: {cores: 1, memoryMB: 1000, diskMB: 500}}
    calibrate: {command: [cal], dimensions: [detector], inputs: {i: {datasetType: postISRCCD}}, outputs: {o: {datasetType: calexp}}, resources: {cores: 1, memoryMB: 1000, diskMB: 500}}
data: {scope: hsc}
output: {scope: out, run: locality}
`,
  });
}

/**
 * The campaign's rows in a fresh table: isr rows 0..N-1 (raw + bias),
 * calibrate rows N..2N-1 (after isr). `world.raw[i]` and `world.bias[j]`
 * carry `did`, `bytes` and `sites` (indexes into `sites`, whose RSEs are
 * `<site>-disk`); with `locality` false the index knows no sites.
 */
export function loadCampaign(world, sites, locality, clock) {
  const t = new dist.CampaignTable(undefined, clock);
  if (locality) for (const s of sites) t.replicas.setRseSite(`${s}-disk`, s);
  const spec = campaignSpec();
  const record = { name: "locality", state: "RUNNING", priority: 100, share: 1, createdMs: 0, finishedMs: 0, specJson: "", tasks: ["isr", "calibrate"], expanded: ["isr", "calibrate"], expansionError: "", generation: "" };
  const c = t.addCampaign(record, spec);
  const n = world.raw.length;
  const files = [...world.raw, ...world.bias];
  const index = new Map(files.map((f, i) => [f.did, i]));
  const fileStart = new Int32Array(2 * n + 1);
  const fileRows = new Int32Array(2 * n);
  const upStart = new Int32Array(2 * n + 1);
  const upRows = new Int32Array(n);
  world.raw.forEach((r, i) => {
    fileRows[2 * i] = index.get(r.did);
    fileRows[2 * i + 1] = index.get(r.bias.did);
    fileStart[i + 1] = 2 * i + 2;
  });
  for (let i = 0; i < n; i++) {
    fileStart[n + i + 1] = 2 * n;
    upRows[i] = i;
    upStart[n + i + 1] = i + 1;
  }
  t.appendRows(c, {
    ranges: [{ task: "isr", start: 0, count: n }, { task: "calibrate", start: n, count: n }],
    count: 2 * n,
    upstream: { start: upStart, rows: upRows },
    identities: new Uint8Array(2 * n * dist.IDENTITY_BYTES),
    inputs: { dids: files.map((f) => f.did), bytes: Float64Array.from(files.map((f) => f.bytes)), links: { start: fileStart, rows: fileRows }, rses: files.map((f) => f.sites.map((s) => `${sites[s]}-disk`)) },
  });
  dist.setFirstStates(c.rows, 0);
  t.addRows(c, 0);
  return { t, c };
}

/** A binary heap of timed events, earliest first. */
export class Events {
  heap = [];
  push(e) {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  peek() {
    return this.heap[0];
  }
  pop() {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}
