import { describe, expect, it } from "vitest";
import { IDENTITY_BYTES } from "../campaign/identity.js";
import { parseCampaign, type CampaignSpec } from "../campaign/spec.js";
import { CampaignTable, type LiveCampaign, type QuantumRef } from "./campaign-table.js";
import { campaignOrder, selectQuanta, type AgentSlot } from "./scheduler.js";
import { siteDemand } from "./site-demand.js";
import type { CampaignRecord } from "./model.js";
import type { RowBatch, TaskRange } from "./quantum-rows.js";
import type { CampaignState } from "./campaign-state.js";
import type { QuantumState } from "./quantum-state.js";

const NOW = 1_750_000_000_000;

// small: 1 core, 60 s; big: 4 cores, 1 h; pinned: may not run on spot nodes, 1 h.
function spec(name: string, extra = ""): CampaignSpec {
  return parseCampaign({
    sourceName: `${name}.yaml`,
    specYaml: `apiVersion: orrery/v1
kind: Campaign
name: ${name}
pipeline:
  tasks:
    small: {command: [a], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: smallOut}}, resources: {cores: 1, memoryMB: 500, timeLimit: 60s}}
    big: {command: [b], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: bigOut}}, resources: {cores: 4, memoryMB: 500}}
    pinned: {command: [c], dimensions: [n], inputs: {raw: {datasetType: raw}}, outputs: {o: {datasetType: pinnedOut}}, resources: {cores: 1, memoryMB: 500}, preemptible: false}
data: {scope: hsc}
output: {scope: out, run: ${name}}
${extra}`,
  });
}

interface QuantumInit {
  task?: string;
  memoryMB?: number;
  readyAtMs?: number;
  state?: QuantumState;
}

/** Label of each row of a campaign: `<campaign>.q<n>`, n its place in the campaign's `quanta` list. */
const labels = new WeakMap<LiveCampaign, string[]>();

/**
 * A table holding one campaign per entry, each with its quanta in the order
 * they became ready. A task's quanta are contiguous rows, so rows are grouped
 * by task; the ready order is the listed one (each row is added to the
 * indexes in that order).
 */
function table(campaigns: { name: string; priority?: number; share?: number; createdMs: number; state?: CampaignState; extra?: string; quanta: QuantumInit[] }[]): CampaignTable {
  const t = new CampaignTable();
  for (const c of campaigns) {
    const s = spec(c.name, c.extra);
    const record: CampaignRecord = { name: c.name, state: c.state ?? "RUNNING", priority: c.priority ?? s.priority, share: c.share ?? 1, createdMs: c.createdMs, finishedMs: 0, specJson: "", tasks: s.tasks.map((x) => x.name), expanded: s.tasks.map((x) => x.name), expansionError: "", generation: "" };
    const live = t.addCampaign(record, s);
    const task = (init: QuantumInit) => init.task ?? "small";
    // Rows: each task's quanta together, in order of first mention.
    const ranges: TaskRange[] = [];
    const rowOf: number[] = [];
    for (const name of new Set(c.quanta.map(task))) {
      const start = ranges.reduce((n, r) => n + r.count, 0);
      const mine = c.quanta.flatMap((init, i) => (task(init) === name ? [i] : []));
      mine.forEach((i, k) => (rowOf[i] = start + k));
      ranges.push({ task: name, start, count: mine.length });
    }
    const count = c.quanta.length;
    const batch: RowBatch = { ranges, count, upstream: { start: new Int32Array(count + 1), rows: new Int32Array(0) }, identities: new Uint8Array(count * IDENTITY_BYTES) };
    live.rows.append(batch);
    const labelOf: string[] = [];
    labels.set(live, labelOf);
    c.quanta.forEach((init, i) => {
      const row = rowOf[i]!;
      expect(live.rows.task(row)).toBe(task(init));
      live.rows.restore(row, { state: init.state ?? "READY", attempts: [], failures: 0, kills: 0, infraErrors: 0, memoryMB: init.memoryMB ?? 500, readyAtMs: init.readyAtMs ?? 0, produced: [] });
      labelOf[row] = `${c.name}.q${i + 1}`;
    });
    // Into the indexes (counts, ready set) one by one, in the listed order.
    for (let i = 0; i < count; i++) t.addRows(live, rowOf[i]!, rowOf[i]! + 1);
    expect(live.rows.length).toBe(count);
  }
  return t;
}

function agent(a: Partial<AgentSlot> = {}): AgentSlot {
  return { id: "agent-1", site: "site-a", kind: "hpc", freeCores: 4, freeMemoryMB: 8000, freeDiskMB: 100_000, ...a };
}

/** Labels of picked quanta. */
function ids(picked: QuantumRef[]): string[] {
  return picked.map(({ c, row }) => {
    const label = labels.get(c)?.[row];
    if (label === undefined) throw new Error(`picked ${c.rows.id(row)}, not a quantum of this test`);
    return label;
  });
}
const ready = (n: number, init: QuantumInit = {}) => Array.from({ length: n }, () => init);

describe("selectQuanta: order", () => {
  it("serves a higher priority band strictly first, though submitted later", () => {
    const t = table([
      { name: "low", priority: 100, createdMs: 1, quanta: ready(3) },
      { name: "high", priority: 500, createdMs: 2, quanta: ready(3) },
    ]);
    expect(ids(selectQuanta(t, agent({ freeCores: 2 }), NOW))).toEqual(["high.q1", "high.q2"]);
    expect(ids(selectQuanta(t, agent({ freeCores: 5 }), NOW))).toEqual(["high.q1", "high.q2", "high.q3", "low.q1", "low.q2"]);
  });

  it("within a band, shares fairly: equal shares alternate, earlier submission first, each in the order its quanta became ready", () => {
    const t = table([
      { name: "second", createdMs: 20, quanta: ready(2) },
      { name: "first", createdMs: 10, quanta: ready(2) },
    ]);
    expect(ids(selectQuanta(t, agent({ freeCores: 3 }), NOW))).toEqual(["first.q1", "second.q1", "first.q2"]);
    expect(campaignOrder(t.campaigns.values()).map((c) => c.name)).toEqual(["first", "second"]);
  });

  it("within a band, weights by share and counts what each campaign already runs", () => {
    const t = table([
      { name: "heavy", createdMs: 10, share: 3, quanta: ready(6) },
      { name: "light", createdMs: 20, share: 1, quanta: ready(6) },
    ]);
    const picked = ids(selectQuanta(t, agent({ freeCores: 8 }), NOW));
    expect(picked.filter((id) => id.startsWith("heavy")).length).toBe(6);
    expect(picked.filter((id) => id.startsWith("light")).length).toBe(2);
    // A campaign already running many quanta waits for the others to catch up.
    const busy = table([
      { name: "busy", createdMs: 10, quanta: [...ready(3, { state: "RUNNING" }), ...ready(2)] },
      { name: "idle", createdMs: 20, quanta: ready(4) },
    ]);
    expect(ids(selectQuanta(busy, agent({ freeCores: 4 }), NOW))).toEqual(["idle.q1", "idle.q2", "idle.q3", "busy.q4"]);
  });

  it("only READY quanta of RUNNING campaigns", () => {
    const t = table([
      { name: "paused", priority: 900, createdMs: 1, state: "PAUSED", quanta: ready(2) },
      { name: "live", createdMs: 2, quanta: [{ state: "PENDING" }, { state: "RUNNING" }, {}, { state: "FAILED" }] },
    ]);
    expect(ids(selectQuanta(t, agent(), NOW))).toEqual(["live.q3"]);
    expect(campaignOrder(t.campaigns.values()).map((c) => c.name)).toEqual(["live"]);
  });

  it("holds back a quantum until its retry backoff is over", () => {
    const t = table([{ name: "c", createdMs: 1, quanta: [{ readyAtMs: NOW + 1 }, { readyAtMs: NOW }, { readyAtMs: NOW - 1 }] }]);
    expect(ids(selectQuanta(t, agent(), NOW))).toEqual(["c.q2", "c.q3"]);
    expect(ids(selectQuanta(t, agent(), NOW + 1))).toEqual(["c.q1", "c.q2", "c.q3"]);
  });
});

describe("selectQuanta: fitting the agent", () => {
  it("hands out no more cores than the agent has free", () => {
    const t = table([{ name: "c", createdMs: 1, quanta: [{ task: "big" }, {}, {}, { task: "big" }, {}] }]);
    // the big quantum (4 cores) does not fit 3 free cores; the small ones do
    expect(ids(selectQuanta(t, agent({ freeCores: 3 }), NOW))).toEqual(["c.q2", "c.q3", "c.q5"]);
    expect(ids(selectQuanta(t, agent({ freeCores: 4 }), NOW))).toEqual(["c.q1"]);
    expect(ids(selectQuanta(t, agent({ freeCores: 6 }), NOW))).toEqual(["c.q1", "c.q2", "c.q3"]);
    expect(selectQuanta(t, agent({ freeCores: 0 }), NOW)).toEqual([]);
  });

  it("hands out no more memory than the agent has free, using each quantum's current memory", () => {
    // q2 was raised to 3000 MB after running out of memory
    const t = table([{ name: "c", createdMs: 1, quanta: [{ memoryMB: 500 }, { memoryMB: 3000 }, { memoryMB: 500 }, { memoryMB: 500 }] }]);
    expect(ids(selectQuanta(t, agent({ freeCores: 8, freeMemoryMB: 1600 }), NOW))).toEqual(["c.q1", "c.q3", "c.q4"]);
    expect(ids(selectQuanta(t, agent({ freeCores: 8, freeMemoryMB: 3500 }), NOW))).toEqual(["c.q1", "c.q2"]);
    expect(selectQuanta(t, agent({ freeCores: 8, freeMemoryMB: 499 }), NOW)).toEqual([]);
  });

  it("respects the campaign's sites.allow", () => {
    const t = table([
      { name: "only-b", priority: 900, createdMs: 1, extra: "sites: {allow: [site-b]}", quanta: ready(2) },
      { name: "anywhere", createdMs: 2, quanta: ready(2) },
    ]);
    expect(ids(selectQuanta(t, agent({ site: "site-a" }), NOW))).toEqual(["anywhere.q1", "anywhere.q2"]);
    expect(ids(selectQuanta(t, agent({ site: "site-b", freeCores: 3 }), NOW))).toEqual(["only-b.q1", "only-b.q2", "anywhere.q1"]);
  });

  it("never gives a spot agent a task marked preemptible: false", () => {
    const t = table([{ name: "c", createdMs: 1, quanta: [{ task: "pinned" }, {}, { task: "pinned" }] }]);
    expect(ids(selectQuanta(t, agent({ kind: "spot" }), NOW))).toEqual(["c.q2"]);
    // each pick is a row of its campaign: the quantum's own id
    const picked = selectQuanta(t, agent({ kind: "hpc" }), NOW);
    expect(picked.every(({ c }) => c === t.campaigns.get("c"))).toBe(true);
    expect(picked.map(({ c, row }) => c.rows.id(row))).toEqual(["c.pinned.1", "c.small.1", "c.pinned.2"]);
    expect(ids(selectQuanta(t, agent({ kind: "hpc" }), NOW))).toEqual(["c.q1", "c.q2", "c.q3"]);
    expect(ids(selectQuanta(t, agent({ kind: "static" }), NOW))).toEqual(["c.q1", "c.q2", "c.q3"]);
  });

  it("gives a pilot only quanta whose time limit ends before the pilot must leave", () => {
    const t = table([{ name: "c", createdMs: 1, quanta: [{ task: "big" }, {}, { task: "pinned" }, {}] }]);
    // 2 min left: only the 60 s quanta fit; an hour-long one would outlast the pilot.
    expect(ids(selectQuanta(t, agent({ freeCores: 8, leaveByMs: NOW + 120_000 }), NOW))).toEqual(["c.q2", "c.q4"]);
    // 59 s left: nothing fits, however free the pilot is.
    expect(selectQuanta(t, agent({ freeCores: 8, leaveByMs: NOW + 59_000 }), NOW)).toEqual([]);
    expect(ids(selectQuanta(t, agent({ freeCores: 8, leaveByMs: NOW + 2 * 3_600_000 }), NOW))).toEqual(["c.q1", "c.q2", "c.q3", "c.q4"]);
  });
});

describe("siteDemand: the work a pilot factory sees", () => {
  const pilot = { site: "site-a", cores: 4, memoryMB: 8000, walltimeS: 3600 };

  it("counts the READY quanta a pilot of that shape could run, and their cores", () => {
    const t = table([
      { name: "a", createdMs: 1, quanta: [...ready(3), { task: "big" }, { task: "small", state: "RUNNING" }, { task: "small", state: "PENDING" }] },
      { name: "paused", createdMs: 2, state: "PAUSED", quanta: ready(5) },
    ]);
    expect(siteDemand(t, pilot)).toEqual({ readyQuanta: 4, readyCores: 3 + 4 });
    // A 2-core pilot cannot hold the 4-core quantum; a 59 s one only the 60 s quanta… not even those.
    expect(siteDemand(t, { ...pilot, cores: 2 })).toEqual({ readyQuanta: 3, readyCores: 3 });
    expect(siteDemand(t, { ...pilot, walltimeS: 60 })).toEqual({ readyQuanta: 3, readyCores: 3 });
    expect(siteDemand(t, { ...pilot, walltimeS: 59 })).toEqual({ readyQuanta: 0, readyCores: 0 });
    expect(siteDemand(t, { ...pilot, memoryMB: 499 })).toEqual({ readyQuanta: 0, readyCores: 0 });
  });

  it("leaves out campaigns that do not allow the site", () => {
    const t = table([{ name: "only-b", createdMs: 1, extra: "sites: {allow: [site-b]}", quanta: ready(2) }]);
    expect(siteDemand(t, pilot).readyQuanta).toBe(0);
    expect(siteDemand(t, { ...pilot, site: "site-b" }).readyQuanta).toBe(2);
  });
});
